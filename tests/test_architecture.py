"""The package's shape (issue 21): no import cycle anywhere in gleak_sarif/, lazy and type-checking imports
included, no module over 900 lines, and the layers that must not point up (docs/architecture.md).

An import names a module: `from a.b import c` is an edge to `a.b.c` when that is a module, else to `a.b`;
`import a.b` is an edge to `a.b` (the parent packages' `__init__` run too, which is why they stay light).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gleak_sarif"
MAX_LINES = 900

# (importer, imported): modules under the first name must not import modules under the second (prefixes of
# dotted names). Lower layers never reach up: the package model and the facts know nothing of rules or the
# engine; rules do not run the engine; the engine does not write reports; the evaluator asks the scan
# context's small interface (evaluate.PackageQuestions) and imports none of what answers it.
FORBIDDEN = [
    ("gleak_sarif.gopackage", "gleak_sarif.facts"),
    ("gleak_sarif.gopackage", "gleak_sarif.rules"),
    ("gleak_sarif.gopackage", "gleak_sarif.engine"),
    ("gleak_sarif.facts", "gleak_sarif.rules"),
    ("gleak_sarif.facts", "gleak_sarif.engine"),
    ("gleak_sarif.config", "gleak_sarif.rules"),
    ("gleak_sarif.rules", "gleak_sarif.engine"),
    ("gleak_sarif.engine", "gleak_sarif.report"),
    ("gleak_sarif.docs", "gleak_sarif.report"),
    ("gleak_sarif.engine.evaluate", "gleak_sarif.engine.callees"),
    ("gleak_sarif.engine.evaluate", "gleak_sarif.engine.context"),
    ("gleak_sarif.engine.evaluate", "gleak_sarif.facts"),
    ("gleak_sarif.engine.evaluate", "gleak_sarif.gopackage.store"),
    ("gleak_sarif.engine.evaluate", "gleak_sarif.gopackage.model"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in its body (functions, TYPE_CHECKING blocks)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    if target in modules:
                        edges.add(target)
                    elif base in modules:
                        edges.add(base)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_cycles_and_lazy_imports() -> None:
    """The checks below could not fail if the graph missed imports: a cycle through a function-level
    import and a relative import must be found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    real = import_graph()
    assert "gleak_sarif.engine.worker" in real["gleak_sarif.engine.scan"], "scan.py imports the worker in a function"
    assert "gleak_sarif.rules.schema" in real["gleak_sarif.rules.compiler"], "a TYPE_CHECKING import"


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles in gleak_sarif/:\n" + "\n".join(" <-> ".join(c) for c in found)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_layers_point_down() -> None:
    graph = import_graph()
    wrong = sorted(f"{module} imports {target}" for module, targets in graph.items() for target in targets
                   for importer, imported in FORBIDDEN if _under(module, importer) and _under(target, imported))
    assert not wrong, "imports against the layers (docs/architecture.md):\n" + "\n".join(wrong)


def test_no_module_over_900_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    large = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not large, f"modules over {MAX_LINES} lines (split them by job): {large}"
