"""`ledgerdesk analytics`: the read-only database role BI tools read the `analytics` views with (PostgreSQL)."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError

from api.cli.context import fail, load_settings, services_from
from infrastructure.database import Backend
from infrastructure.readmodels import analytics

app = typer.Typer(help="The analytics views' read-only role for BI tools (PostgreSQL).", no_args_is_help=True)
#: A role name BI tools and people can type without quoting.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
PASSWORD_MIN = 12


@app.command("role")
def create_reader(
    name: Annotated[str, typer.Argument(help="The login role to create, or whose password to change.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the role's password from standard input (required).")
    ] = False,
) -> None:
    """Create a login role that may read the analytics views and nothing else; the password from standard input."""
    if not ROLE_NAME.fullmatch(name):
        fail("the role name takes lower-case letters, digits and _ (at most 63, not starting with a digit)")
    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < PASSWORD_MIN:
        fail(f"the password must be at least {PASSWORD_MIN} characters")
    with services_from(load_settings()) as services:
        if services.database.backend is not Backend.POSTGRES:
            fail("the analytics views exist on PostgreSQL only (the embedded SQLite file is read as it is)")
        datastore = services.desk.recorder.datastore  # type: ignore[attr-defined]
        try:
            with datastore.transaction(commit=True) as cursor:
                analytics.grant_reading(cursor, datastore.schema, name, password)
        except PersistenceError as error:  # the role may not create roles, say
            fail(f"the database refused: {str(error).strip().splitlines()[0]}")
    schema = analytics.schema_name(datastore.schema)
    typer.echo(f"{name} may read the views of schema {schema}: {', '.join(analytics.VIEWS)}")
