"""The `analytics` views for BI tools: stable names and columns across a rebuild, read by a role reading nothing else.

PostgreSQL only (the views are PostgreSQL's). The role is made by `ledgerdesk analytics role` as a
real process; roles belong to the whole server, so the test removes its role afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.readmodels import analytics
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env

pytestmark = pytest.mark.postgres
DOCS = Path(__file__).parents[2] / "docs" / "analytics.md"
AGENT = Actor("alice", ActorKind.AGENT)


@pytest.fixture
def desk(postgres_settings: Settings) -> Iterator[Services]:
    services = build_services(postgres_settings)
    services.start_projections()
    yield services
    services.close()


@pytest.fixture
def reader(postgres_settings: Settings) -> Iterator[tuple[str, str]]:
    """A role name and password for the test; the role is removed afterwards, wherever the test stopped."""
    name, password = f"bi_{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(18)
    yield name, password
    with psycopg.connect(postgres_settings.database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        if exists:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _as(settings: Settings, role: str, password: str) -> psycopg.Connection[tuple[object, ...]]:
    parts = urlsplit(settings.database_url)
    url = urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))
    return psycopg.connect(url, autocommit=True)


def _make_role(settings: Settings, name: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "analytics", "role", name, "--password-stdin"],
        input=password + "\n",
        env={**os.environ, **cli_env(settings)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_bi_role_reads_the_views_and_nothing_else_and_the_views_survive_a_rebuild(
    desk: Services, postgres_settings: Settings, reader: tuple[str, str]
) -> None:
    opened = desk.desk.open_ticket(
        tenant="acme", title="Printer on fire", requester_id="bob", tags=["printer"], by=AGENT, via="api"
    )
    desk.desk.transition(opened.ticket_id, "solved", by=AGENT, via="api")
    desk.read_models.wait_for(desk.read_models.head(), timeout=10)
    name, password = reader
    made = _make_role(postgres_settings, name, password)
    assert made.returncode == 0, made.stderr
    schema = analytics.schema_name(postgres_settings.postgres_schema)
    with _as(postgres_settings, name, password) as conn:
        cursor = conn.execute(sql.SQL("SELECT * FROM {}.tickets").format(sql.Identifier(schema)))
        columns = [c.name for c in cursor.description or []]
        rows = cursor.fetchall()
        tags = conn.execute(sql.SQL("SELECT tag FROM {}.ticket_tags").format(sql.Identifier(schema))).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT * FROM {}.rm1_tickets").format(sql.Identifier(postgres_settings.postgres_schema))
            )
    assert columns == list(analytics.VIEWS["tickets"][1])
    assert "title" not in columns  # no personal text in the views
    assert [(r[columns.index("status")], r[columns.index("sla_due_at")]) for r in rows] == [("solved", None)]
    assert tags == [("printer",)]

    switched = rebuild(desk.desk, desk.read_models)
    assert switched.new_generation == 2
    with _as(postgres_settings, name, password) as conn:
        again = conn.execute(sql.SQL("SELECT ticket_id, status FROM {}.tickets").format(sql.Identifier(schema)))
        assert again.fetchall() == [(opened.ticket_id, "solved")]
        defined = conn.execute(
            "SELECT definition FROM pg_views WHERE schemaname = %s AND viewname = 'tickets'", [schema]
        ).fetchone()
    assert defined is not None
    assert "rm2_tickets" in str(defined[0])
    with _as(postgres_settings, name, password) as conn:
        for query in _documented_queries(schema):  # docs/analytics.md's examples run as written, as the BI role
            conn.execute(query).fetchall()


def _documented_queries(schema: str) -> list[bytes]:
    text = DOCS.read_text()
    block = text[text.index("```sql") + len("```sql") : text.index("```", text.index("```sql") + 6)]
    statements = [s.strip() for s in block.split(";") if s.strip()]
    assert len(statements) == 3
    return [s.replace("analytics.", f'"{schema}".').encode() for s in statements]


def test_a_role_name_or_password_the_database_would_not_take_is_a_one_line_error(
    desk: Services, postgres_settings: Settings
) -> None:
    bad_name = _make_role(postgres_settings, "Robert'); DROP TABLE students;--", secrets.token_urlsafe(18))
    short = _make_role(postgres_settings, f"bi_{uuid.uuid4().hex[:8]}", "short")
    assert (bad_name.returncode, short.returncode) == (2, 2)
    assert "lower-case letters" in bad_name.stderr
    assert "at least 12 characters" in short.stderr
