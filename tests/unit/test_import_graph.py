"""The product's modules import one another without a cycle, and its layers only downwards.

Every import counts, those under `if TYPE_CHECKING:` and inside functions too: a cycle that only
type checking sees still means two modules that cannot be understood, or moved, one without the
other. The layers are domain → projections → infrastructure → api; a module may import from its
own layer and the ones before it.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "projections", "infrastructure", "api")


def product_modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the product packages."""
    modules = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The product module that `name` (a module, or a name inside one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}".rstrip(".")
        # `from package import module` imports the module; `from module import name` the module.
        return [f"{base}.{alias.name}" for alias in node.names] + [base]
    return []


def import_graph() -> dict[str, set[str]]:
    """Module → the product modules it imports (itself left out)."""
    modules = product_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, module, path.name == "__init__.py"):
                owner = _owner(name, modules)
                if owner is not None and owner != module:
                    targets.add(owner)
        graph[module] = targets
    return graph


def test_the_graph_sees_imports_of_every_kind() -> None:
    graph = import_graph()

    assert "domain.tickets.ticket" in graph["projections.tickets.fold"]  # a plain import
    assert len(graph) > 80  # every module of the four packages


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()

    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        cycle = " → ".join(error.args[1])
        raise AssertionError(f"import cycle: {cycle}") from None


def test_layers_import_only_downwards() -> None:
    upward = []
    for module, targets in import_graph().items():
        rank = LAYERS.index(module.split(".")[0])
        upward += [f"{module} → {target}" for target in targets if LAYERS.index(target.split(".")[0]) > rank]

    assert not upward, "\n".join(sorted(upward))
