"""ruff (pyflakes, pycodestyle, import order, pyupgrade, bugbear; pyproject.toml's [tool.ruff]) finds
nothing in the package, the tests or the benches: the habits are checked where CI runs, not only
in an editor that may not have them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ruff_command() -> list[str]:
    """The dev extra's ruff: the executable beside this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.exists() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (it comes with the dev extra: pip install '.[dev]')")
    return [found]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [*ruff_command(), "check", "--no-cache", "--output-format", "concise", "bandlog", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, f"ruff found:\n{result.stdout}{result.stderr}"
