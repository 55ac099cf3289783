"""The package's layering, read from the source: imports run one way, no cycles, small files.

Layers, bottom first (docs/api.md, "Package layout"): ``errors``/``atomic``/``_version``,
``kernels`` (numpy), ``models`` (torch), ``training`` and ``evaluation``, ``xr`` (the only
xarray/dask layer), then ``plot`` and ``testing``, the accessors (the front end, whose
``.plot()`` draws with ``plot``), ``cli`` on top. A module may import from its own layer and
the layers below it, never from one above. Imports inside functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sstfill"
BENCHMARKS = PACKAGE.parent / "benchmarks"

#: Layer rank of each top-level part of the package (a module imports only equal or lower ranks).
RANKS = {
    "_version": 0,
    "errors": 0,
    "atomic": 0,
    "kernels": 1,
    "models": 2,
    "evaluation": 3,
    "training": 3,
    "xr": 4,
    "plot": 5,
    "testing": 5,
    "cli": 7,
    "__init__": 8,
}
#: Modules ranked apart from their part of the package.
MODULE_RANKS = {"sstfill.xr.accessor": 6}
#: Modules allowed to use torch and xarray/dask both: the adapters between the layers.
ADAPTERS = {"sstfill.xr.dispatch"}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions, as absolute names."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank(name: str) -> int:
    return MODULE_RANKS.get(name, RANKS[_part(name)])


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module):
    rank = _rank(module)
    above = sorted(
        name for name in _imports(MODULES[module], module)
        if name.startswith("sstfill.") and name in MODULES and _rank(name) > rank
    )
    assert not above, f"{module} (layer {_part(module)!r}) imports from a higher layer: {above}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_torch_and_xarray_meet_only_in_adapters(module):
    roots = {name.split(".")[0] for name in _imports(MODULES[module], module)}
    if _part(module) == "kernels":
        assert not roots & {"torch", "xarray", "dask"}, f"{module}: kernels are numpy only, got {roots & {'torch', 'xarray', 'dask'}}"
    if module in ADAPTERS:
        return
    assert not ({"torch"} & roots and {"xarray", "dask", "distributed"} & roots), f"{module} imports torch and xarray/dask"


def test_no_import_cycles():
    graph = {m: {n for n in _imports(p, m) if n in MODULES and n != m} for m, p in MODULES.items()}
    # a package's __init__ re-exporting its modules is not a cycle of code
    graph = {m: {n for n in deps if not m.startswith(n + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def _own_sources(root):
    """The .py files under ``root``, without hidden folders (e.g. a benchmark peer's virtual environment)."""
    return [p for p in root.rglob("*.py") if not any(part.startswith(".") for part in p.relative_to(root).parts)]


@pytest.mark.parametrize("path", sorted(_own_sources(PACKAGE) + _own_sources(BENCHMARKS)), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_files_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines (> {MAX_LINES}): split it by concern"
