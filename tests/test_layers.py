"""The import graph of server/: layers import downward only, and no module imports itself in a loop.

Every `import` counts, also one under `if TYPE_CHECKING:` or inside a function: a loop that only
type hints close still makes a newcomer read in circles. docs/architecture.md draws the same
layers; change both together.
"""
from __future__ import annotations

import ast
from pathlib import Path

from server.config import ROOT

# Top first. A module may import modules of its own layer and of the layers below it, never above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("app", ("server.app", "server.routes", "server.resources", "server.cli", "server.serve", "server.demo",
             "server.demo_layouts", "server.demo_history", "server.backup")),
    ("edge", ("server.api", "server.ws", "server.middleware", "server.origin", "server.pages",
              "server.request_log", "server.forwarded", "server.web_setup")),
    ("keys", ("server.keys",)),
    ("services", ("server.services",)),
    ("domain: messages", ("server.messaging",)),
    ("domain: checkout", ("server.checkout",)),
    ("domain: live seats", ("server.live",)),
    ("domain: catalog, accounts, reports", ("server.domain",)),
    ("stores", ("server.db", "server.bus", "server.bus_cluster", "server.keyspace", "server.redis_client", "server.queries", "server.cache")),
    ("base", ("server.config", "server.errors", "server.background", "server.clock", "server.logs", "server.gc_tuning", "server.slots",
              "server.metrics", "server.zones", "server.connections",
              "server.sentences")),
)
# Programs that use the server from outside; nothing in server/ may import them.
CLIENTS = ("loadtest", "bench", "tests")


def modules(package: Path = ROOT / "server") -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The modules a file imports (from X import name: X.name when that is a module, else X)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                out.add(name if name in known else node.module)
    return out


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the layer a module belongs to (None: in none)."""
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def graph() -> dict[str, set[str]]:
    """server module -> the server modules it imports (package __init__ files, all empty, left out)."""
    known = modules()
    packages = {name for name, path in known.items() if path.name == "__init__.py"}
    return {name: {dep for dep in imports(path, known) if dep in known and dep not in packages}
            for name, path in known.items() if name not in packages}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    assert [name for name in graph() if layer_of(name) is None] == []


def test_package_inits_import_nothing() -> None:
    known = modules()
    busy = [name for name, path in known.items() if path.name == "__init__.py" and imports(path, known)]
    assert busy == []


def test_imports_run_downward_only() -> None:
    placed = {name: layer_of(name) for name in graph()}
    upward = [
        f"{module} ({LAYERS[layer][0]}) imports {dep} ({LAYERS[placed[dep]][0]})"  # type: ignore[index]
        for module, deps in graph().items() if (layer := placed[module]) is not None
        for dep in sorted(deps) if placed[dep] is not None and placed[dep] < layer  # type: ignore[operator]
    ]
    assert upward == []


def test_no_import_loops() -> None:
    assert cycles(graph()) == []


def test_the_server_never_imports_its_clients() -> None:
    known = modules()
    found = [f"{name} imports {dep}" for name, path in known.items() for dep in sorted(imports(path, known))
             if dep.split(".")[0] in CLIENTS]
    assert found == []


def test_the_checker_sees_loops_and_upward_imports() -> None:
    # The checks above pass only if these helpers work: a loop and an upward import they must catch.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("server.keys") < layer_of("server.live.holds")  # type: ignore[operator]
    assert layer_of("server.ws.core") < layer_of("server.keys")  # type: ignore[operator]
    assert "server.keys" in imports(ROOT / "server" / "resources.py", modules())
