"""Fixtures of the end-to-end tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

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
