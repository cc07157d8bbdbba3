"""The package's layers, read from its imports: no cycles, and every import points down the flow.

LAYERS is the one place the order is stated (ARCHITECTURE.md explains it). Every `import` counts,
wherever it sits: top level, inside a function (a lazy import is still a dependency), under
TYPE_CHECKING. A module may import its own package freely and any package in a lower layer; packages
in the same layer do not import each other. A new package or a loose module at the root fails here
until it is given a layer.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import bandlog

# bottom to top; "bandlog" is the front door (bandlog/__init__.py, __main__.py): nothing inside imports it
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"devices", "io", "detect", "sim", "coach"}),
    frozenset({"sources", "emulate", "live"}),
    frozenset({"app"}),
    frozenset({"progress"}),
    frozenset({"cli"}),
    frozenset({"bandlog"}),
)
RANK = {place: rank for rank, layer in enumerate(LAYERS) for place in layer}
PACKAGE = Path(bandlog.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["bandlog", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def place(module: str) -> str:
    parts = module.split(".")
    return "bandlog" if len(parts) == 1 or parts[1] == "__main__" else parts[1]


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported bandlog module, line) for every import in the file, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
            found += [(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base, node.lineno) for a in node.names]
    out = []
    for target, line in found:
        if target != "bandlog" and not target.startswith("bandlog."):
            continue
        while target not in MODULES and "." in target:
            target = target.rsplit(".", 1)[0]
        if target != module:
            out.append((target, line))
    return out


EDGES = {module: imports(module, path) for module, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({place(m) for m in MODULES} - set(RANK))
    assert not unplaced, (
        f"not in any layer: {', '.join(unplaced)}. Put each in a package of LAYERS "
        f"(tests/architecture/test_layers.py), or add the package to the layer it belongs to."
    )


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in EDGES.items():
        for target, line in targets:
            a, b = place(module), place(target)
            if a == b or a not in RANK or b not in RANK:
                continue
            if RANK[b] >= RANK[a]:
                how = "the same layer" if RANK[b] == RANK[a] else "a higher layer"
                wrong.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target} ({b} is in {how} than {a})")
    assert not wrong, "imports against the layer order (core at the bottom, cli on top):\n  " + "\n  ".join(wrong)


def cycles(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    by_place: dict[str, set[str]] = defaultdict(set)
    by_module: dict[str, set[str]] = defaultdict(set)
    for module, targets in EDGES.items():
        for target, _ in targets:
            by_module[module].add(target)
            if place(module) != place(target):
                by_place[place(module)].add(place(target))
    found = [" <-> ".join(c) + " (packages)" for c in cycles({place(m) for m in MODULES}, by_place)]
    found += [" <-> ".join(c) + " (modules)" for c in cycles(set(MODULES), by_module)]
    assert not found, "import cycles (move the shared part down a layer, do not hide it in a lazy import):\n  " + "\n  ".join(found)


def test_architecture_md_describes_every_package() -> None:
    """A newcomer finds where a change goes from ARCHITECTURE.md: every package in LAYERS has its paragraph."""
    text = (Path(__file__).resolve().parents[2] / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = sorted(name for layer in LAYERS[:-1] for name in layer if f"**`{name}/`**" not in text)  # the last: the front door
    assert not missing, f"ARCHITECTURE.md has no paragraph for: {', '.join(missing)}"
