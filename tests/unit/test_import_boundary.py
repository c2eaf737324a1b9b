"""The domain imports only the standard library and eventsourcing's domain and application modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"

FORBIDDEN = (
    "fastapi",
    "pydantic",
    "pydantic_settings",
    "psycopg",
    "psycopg_pool",
    "sqlite3",
    "starlette",
    "uvicorn",
    "typer",
    "api",
    "infrastructure",
    "projections",
)
ALLOWED_EVENTSOURCING = ("eventsourcing.domain", "eventsourcing.application")


def imported_modules(source: str, package: str = "domain") -> set[str]:
    """Every module named by an import statement or an `importlib.import_module("...")` call in `source`."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                modules.add(package)
            else:
                assert node.module is not None
                modules.add(node.module)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                modules.add(first.value)
    return modules


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def is_within(module: str, root: str) -> bool:
    return module == root or module.startswith(f"{root}.")


def domain_files() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def imports_by_file() -> dict[str, set[str]]:
    return {
        str(path.relative_to(DOMAIN.parent)): imported_modules(path.read_text(encoding="utf-8"))
        for path in domain_files()
    }


def test_the_domain_package_is_found() -> None:
    names = {path.name for path in domain_files()}

    assert {"__init__.py", "ticket.py", "helpdesk.py", "workflow.py", "values.py"} <= names


def test_the_domain_imports_no_framework_database_or_outer_layer() -> None:
    offending = {
        file: sorted(m for m in modules if any(is_within(m, root) for root in FORBIDDEN))
        for file, modules in imports_by_file().items()
    }

    assert {file: modules for file, modules in offending.items() if modules} == {}


def test_the_domain_uses_only_eventsourcing_domain_and_application() -> None:
    offending = {
        file: sorted(
            m
            for m in modules
            if is_within(m, "eventsourcing") and not any(is_within(m, ok) for ok in ALLOWED_EVENTSOURCING)
        )
        for file, modules in imports_by_file().items()
    }

    assert {file: modules for file, modules in offending.items() if modules} == {}


def test_every_other_import_of_the_domain_is_the_standard_library_or_itself() -> None:
    allowed_roots = {"domain", "eventsourcing"}
    offending = {
        file: sorted(
            m
            for m in modules
            if m.partition(".")[0] not in allowed_roots and m.partition(".")[0] not in sys.stdlib_module_names
        )
        for file, modules in imports_by_file().items()
    }

    assert {file: modules for file, modules in offending.items() if modules} == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import psycopg_pool", {"psycopg_pool"}),
        ("import fastapi.routing as r", {"fastapi.routing"}),
        ("from api.routers import tickets", {"api.routers"}),
        ("from . import values", {"domain"}),
        ("from .values import slug", {"domain"}),
        ("if TYPE_CHECKING:\n    from infrastructure.settings import Settings", {"infrastructure.settings"}),
        ("def f():\n    import sqlite3", {"sqlite3"}),
        ("importlib.import_module('projections.tickets')", {"projections.tickets"}),
        ("__import__('pydantic')", {"pydantic"}),
    ],
)
def test_the_import_walker_sees_every_form_of_import(source: str, expected: set[str]) -> None:
    assert imported_modules(source) == expected


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("api", True),
        ("api.app", True),
        ("apis", False),
        ("pydantic", True),
        ("pydantic_settings.sources", True),
        ("psycopg.rows", True),
        ("eventsourcing.domain", False),
        ("dataclasses", False),
    ],
)
def test_submodules_of_a_forbidden_package_are_forbidden_too(module: str, forbidden: bool) -> None:
    assert any(is_within(module, root) for root in FORBIDDEN) is forbidden
