"""`bandlog progress` stores what it drew under a key that names the code drawing it (DRAWN_BY): every
module of bandlog.progress that the figure and the report are drawn with must be in it, or a change
to that module (a colour, the adherence band, a split of plots.py) would keep showing the old chart."""

from __future__ import annotations

import ast
from pathlib import Path

import bandlog
from bandlog.cli.commands.progress import DRAWN_BY

PACKAGE = Path(bandlog.__file__).parent


def _progress_imports(module: str) -> set[str]:
    """bandlog.progress modules `module` imports anywhere in its file (inside functions too)."""
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "bandlog.progress":
            found |= {f"bandlog.progress.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bandlog.progress."):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("bandlog.progress.")}
    return found


def test_the_stored_chart_key_names_every_progress_module_that_draws_it() -> None:
    drawn_with = {"bandlog.progress.report", "bandlog.progress.trend_plots"}  # what the verb's _draw calls
    todo = list(drawn_with)
    while todo:
        for imported in _progress_imports(todo.pop()) - drawn_with:
            drawn_with.add(imported)
            todo.append(imported)
    assert drawn_with - set(DRAWN_BY) == set()
