"""`ledgerdesk migrate`: the schema step."""

from __future__ import annotations

import typer

from api.cli.context import load_settings, services_from


def migrate() -> None:
    """Make or update every table, function and index, once (safe to repeat, and to run beside others)."""
    with services_from(load_settings(), prepare_schema=False) as services:
        before, after = services.migrate()
        where = services.database.describe()
    if before == after:
        typer.echo(f"ledgerdesk: schema of {where} already at version {after}; nothing to do")
    else:
        typer.echo(f"ledgerdesk: schema of {where} migrated from version {before} to {after}")
