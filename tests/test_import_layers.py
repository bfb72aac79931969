"""The package's import layers, read with `ast` (nothing is imported): every module imports only its own
room (top-level subpackage) and the layers below it, no import cycle exists, and the package root is the
public surface.

Every import counts: at module level, inside a function (deferred), under ``if TYPE_CHECKING:``, and
under a ``__main__`` guard (the package has none: every command is a console script of alphagan_jax/cli,
and guards that imported their tool are how four cycles once hid).

Run as a script to print the graph's cycles and the imports that break the layers:
    python tests/test_import_layers.py
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "alphagan_jax"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# The layers, lowest first. A module may import its own room (the top-level subpackage or root module it
# is in) and any room of a lower layer; nothing of its layer's other rooms, nothing above. Each room's
# __init__ docstring says the same in words.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("",),  # alphagan_jax/__init__.py: the version and the lazily imported public names; imports nothing
    ("util",),
    ("models",),
    ("data",),
    ("distributed",),
    ("inference", "evaluation"),  # evaluation scores any (image, trimap) -> alpha: it never imports inference
    ("train",),
    ("artifacts",),
    ("api",),
    ("hub",),
    ("demo",),
    ("cli",),
)
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}
# All the package root may hold besides its subpackages: the public surface.
ROOT_MODULES = {"__init__.py", "api.py", "hub.py"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = "in a function" if self.in_function else "at module level"
        return f"{self.source} -> {self.target} ({self.path}:{self.line}, {where})"


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package by its __init__.py)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_main_guard(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module `name` imports: itself, else the longest enclosing module (an attribute of it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict) -> list[str]:
    """Package modules an import statement loads (`from a.b import c` loads a.b.c when that is a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    found = []
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            target = _resolve(name, modules)
            if target is not None and target != module and target not in found:
                found.append(target)
    return found


def import_edges(root: Path = ROOT) -> tuple[list[Edge], list[Edge]]:
    """(edges, main-guard edges): every import between the package's modules, and those made only under
    an ``if __name__ == "__main__":`` guard."""
    modules = module_names(root)
    edges: list[Edge] = []
    guarded: list[Edge] = []

    def visit(node: ast.AST, module: str, is_package: bool, in_function: bool, out: list[Edge]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, module, is_package, modules):
                    out.append(Edge(module, target, rel, child.lineno, in_function))
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, module, is_package, nested, out)

    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        rel = path.relative_to(root.parent).as_posix()
        for stmt in tree.body:
            if _is_main_guard(stmt):  # counted twice: as an edge like any other, and listed
                visit(stmt, module, is_package, False, guarded)
            wrapper = ast.Module(body=[stmt], type_ignores=[])
            visit(wrapper, module, is_package, False, edges)
    return edges, guarded


def room(module: str) -> str:
    """The top-level subpackage or root module `module` is in ('' for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(edges: list[Edge]) -> list[Edge]:
    """Imports of another room of the same or a higher layer, and imports from or of a room with no layer."""
    bad = []
    for e in edges:
        src, dst = room(e.source), room(e.target)
        if src == dst:
            continue
        if src not in RANK or dst not in RANK or RANK[dst] >= RANK[src]:
            bad.append(e)
    return bad


def cycles(edges: list[Edge]) -> list[list[str]]:
    """One cycle (a path a -> ... -> a) through every strongly connected component of more than one module."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    found = []
    for component in components:
        members = set(component)
        start = component[0]
        # Breadth-first within the component: the shortest way from start back to start.
        paths = {w: [start, w] for w in sorted(graph[start]) if w in members}
        frontier = list(paths)
        while start not in paths:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in members and w not in paths:
                        paths[w] = [*paths[v], w]
                        nxt.append(w)
            frontier = nxt
        found.append(paths[start])
    return found


def edge_lines(edges: list[Edge], path: list[str]) -> list[str]:
    """Where each step of a cycle is imported."""
    steps = zip(path, path[1:], strict=False)
    return [str(next(e for e in edges if e.source == a and e.target == b)) for a, b in steps]


def test_every_room_has_a_layer():
    rooms = {room(m) for m in module_names()}
    assert not rooms - set(RANK), f"rooms with no layer in LAYERS: {sorted(rooms - set(RANK))}"
    assert not set(RANK) - rooms, f"LAYERS names rooms that do not exist: {sorted(set(RANK) - rooms)}"


def test_no_module_imports_its_layer_or_above():
    edges, _ = import_edges()
    bad = layer_violations(edges)
    assert not bad, "imports against the layers (LAYERS, lowest first):\n  " + "\n  ".join(
        f"{e}  [{room(e.source) or 'root'} -> {room(e.target) or 'root'}]" for e in bad
    )


def test_no_import_cycles():
    edges, _ = import_edges()
    found = cycles(edges)
    assert not found, "import cycle(s):\n" + "\n".join(
        "  " + " -> ".join(c) + "\n    " + "\n    ".join(edge_lines(edges, c)) for c in found
    )


def test_no_main_guards():
    """One way to run a command: its console script. A module that also runs under `python -m` is a second."""
    _, guarded = import_edges()
    names = module_names()
    found = [
        f"{path.relative_to(ROOT.parent)}:{stmt.lineno}"
        for path in names.values()
        for stmt in ast.parse(path.read_text()).body
        if _is_main_guard(stmt)
    ]
    assert not found, "__main__ guards in the package (make it a console script in alphagan_jax/cli):\n  " + (
        "\n  ".join(found)
    )
    assert not guarded


def test_the_package_root_is_the_public_surface():
    files = {p.name for p in ROOT.glob("*.py")}
    assert files <= ROOT_MODULES, f"modules at the package root besides the public API: {sorted(files - ROOT_MODULES)}"


def test_the_graph_sees_an_upward_import_a_cycle_and_a_guarded_import(tmp_path):
    """The checks themselves: a planted upward import (in a function), a cycle, and an import under a
    __main__ guard are all reported."""
    pkg = tmp_path / PACKAGE
    (pkg / "data").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for init in (pkg / "__init__.py", pkg / "data" / "__init__.py", pkg / "cli" / "__init__.py"):
        init.write_text("")
    (pkg / "cli" / "top.py").write_text("from alphagan_jax.data import low\n")
    (pkg / "data" / "low.py").write_text("def f():\n    from alphagan_jax.cli import top\n")
    (pkg / "data" / "tool.py").write_text("if __name__ == '__main__':\n    from alphagan_jax.cli import top\n")
    edges, guarded = import_edges(pkg)
    assert sorted((e.source, e.target, e.in_function) for e in layer_violations(edges)) == [
        ("alphagan_jax.data.low", "alphagan_jax.cli.top", True),
        ("alphagan_jax.data.tool", "alphagan_jax.cli.top", False),
    ]
    assert cycles(edges) == [["alphagan_jax.cli.top", "alphagan_jax.data.low", "alphagan_jax.cli.top"]]
    assert [(e.source, e.target) for e in guarded] == [("alphagan_jax.data.tool", "alphagan_jax.cli.top")]


if __name__ == "__main__":
    all_edges, main_edges = import_edges()
    print(f"{len(all_edges)} internal imports ({sum(e.in_function for e in all_edges)} inside functions)")
    print("cycles:")
    for c in cycles(all_edges):
        print("  " + " -> ".join(c))
        for line in edge_lines(all_edges, c):
            print("      " + line)
    print("imports against the layers:")
    for e in layer_violations(all_edges):
        print("  " + str(e))
