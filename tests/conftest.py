"""Shared fixtures: the same scenarios run on the in-memory, SQLite and PostgreSQL stores.

PostgreSQL: one throw-away database per test session and one schema per test. Without a
server the PostgreSQL tests skip locally, and fail when LEDGERDESK_REQUIRE_POSTGRES is set (CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock
from tests.support.replication import ReplicatedPostgres, ReplicationUnavailableError, replicated_postgres

PG_HOST = os.environ.get("LEDGERDESK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LEDGERDESK_TEST_PG_PORT", "5432"))
PG_USERS = ("root", "postgres")


BROWSER_TIER = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tier last.

    Playwright's sync API keeps an event loop running on the main thread from the first browser
    test until the session ends, and asyncio.run() refuses to start under a running loop; the
    tests that drive the API with asyncio must therefore all run before the first browser test.
    """
    items.sort(key=lambda item: item.path.is_relative_to(BROWSER_TIER))


def _admin_connection() -> tuple[psycopg.Connection[tuple[object, ...]], str] | None:
    for user in PG_USERS:
        try:
            conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3)
        except psycopg.Error:
            continue
        conn.autocommit = True
        return conn, user
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session; yields its URL and drops it afterwards."""
    found = _admin_connection()
    if found is None:
        reason = f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT} as {' or '.join(PG_USERS)}"
        if os.environ.get("LEDGERDESK_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason}, and LEDGERDESK_REQUIRE_POSTGRES is set")
        pytest.skip(reason)
    admin, user = found
    name = f"ledgerdesk_test_{uuid.uuid4().hex[:12]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def postgres_settings(postgres_database: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a new, empty schema in the session's database (attached files in the test's folder)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield Settings(
        database_url=postgres_database,
        postgres_schema=schema,
        db_pool_max=17,
        pool_size=4,
        blob_dir=str(tmp_path / "blobs"),
    )
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a new SQLite file (attached files beside it)."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'ledgerdesk.sqlite'}", blob_dir=str(tmp_path / "blobs"))


@pytest.fixture(scope="session")
def replicated() -> Iterator[ReplicatedPostgres]:
    """A PostgreSQL primary and its streaming replica of this test session, each with a `ledgerdesk` database."""
    try:
        with replicated_postgres() as servers:
            with psycopg.connect(servers.primary, autocommit=True) as conn:
                conn.execute("CREATE DATABASE ledgerdesk")
            yield ReplicatedPostgres(servers.url("primary", "ledgerdesk"), servers.url("replica", "ledgerdesk"))
    except ReplicationUnavailableError as error:
        if os.environ.get("LEDGERDESK_REQUIRE_POSTGRES"):
            pytest.fail(f"{error}, and LEDGERDESK_REQUIRE_POSTGRES is set")
        pytest.skip(str(error))


@pytest.fixture
def replica_settings(replicated: ReplicatedPostgres, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a new schema on the primary, with read endpoints served from the replica."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(replicated.primary, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield Settings(
        database_url=replicated.primary,
        read_database_url=replicated.replica,
        postgres_schema=schema,
        db_pool_max=17,
        pool_size=4,
        blob_dir=str(tmp_path / "blobs"),
    )
    with psycopg.connect(replicated.primary, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
#: Where the read endpoints are tested: SQLite, PostgreSQL, and PostgreSQL with reads from a streaming replica.
READ_BACKENDS = [*SQL_BACKENDS, pytest.param("replica", marks=pytest.mark.postgres)]


def _settings_for(request: pytest.FixtureRequest, backend: str) -> Settings:
    if backend == "memory":
        return Settings(database_url="memory://")
    fixture = f"{backend}_settings"
    settings: Settings = request.getfixturevalue(fixture)
    return settings


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each store: in-memory, SQLite, PostgreSQL."""
    return _settings_for(request, request.param)


@pytest.fixture(params=SQL_BACKENDS)
def sql_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each SQL store: SQLite, PostgreSQL."""
    return _settings_for(request, request.param)


@pytest.fixture(params=READ_BACKENDS)
def read_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each place read endpoints are served from: SQLite, PostgreSQL, a PostgreSQL replica."""
    return _settings_for(request, request.param)


@pytest.fixture
def clock() -> TickingClock:
    """A clock that ticks one second per reading."""
    return TickingClock()


@pytest.fixture
def services(settings: Settings, clock: TickingClock) -> Iterator[Services]:
    """The services on each store."""
    built = build_services(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def sql_services(sql_settings: Settings, clock: TickingClock) -> Iterator[Services]:
    """The services on each SQL store (what the API runs on)."""
    built = build_services(sql_settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(sql_services: Services) -> Iterator[TestClient]:
    """An HTTP client for the real app on SQLite and PostgreSQL, authenticated as agent alice."""
    key = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client
