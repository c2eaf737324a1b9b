"""Fixtures of the end-to-end tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings


@pytest.fixture
def served(sql_settings: Settings, clock: Callable[[], datetime]) -> Iterator[Services]:
    """The services as a server runs them: on SQLite and PostgreSQL, the projection worker running.

    Built with the `clock` fixture, so a module that needs a clock of its own overrides `clock`.
    """
    built = build_services(sql_settings, clock=clock)
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """The app over `services`, without a key (a module may override it with one)."""
    with TestClient(create_app(services=services)) as test_client:
        yield test_client
