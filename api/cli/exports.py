"""`ledgerdesk export`: a dataset for analysts as a Parquet or CSV file (docs/analytics.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import fail, load_settings, services_from
from api.cli.output import counted, progress
from infrastructure.exports.export import COUNTS, export_file
from infrastructure.exports.scope import Dataset, ExportScope, FileFormat


def export(
    dataset: Annotated[Dataset, typer.Argument(help="tickets, events, sla or comments.")],
    output: Annotated[Path, typer.Option("--output", help="The file to write (replaced whole once written).")],
    fmt: Annotated[FileFormat, typer.Option("--format", help="parquet or csv.")] = FileFormat.PARQUET,
    since: Annotated[
        str | None,
        typer.Option(help="ISO-8601 moment (UTC if no offset): tickets updated, events or comments made since."),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's rows (default: every tenant's).")] = None,
) -> None:
    """Export a dataset as typed columns, times in UTC, without personal data, streamed a page at a time."""
    scope = ExportScope(tenant=tenant, since=_moment(since))
    if not output.parent.is_dir():
        fail(f"cannot write {output}: no directory {output.parent}")
    with services_from(load_settings()) as services, progress(f"exporting {dataset}", COUNTS[dataset]) as (bar, task):
        try:
            rows = export_file(
                services, dataset, fmt, scope, output, lambda at, end: bar.update(task, completed=at, total=end)
            )
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror}")
    typer.echo(f"ledgerdesk: {counted(rows, 'row')} of {dataset} written to {output} ({fmt})", err=True)


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not an ISO-8601 moment (for example 2026-11-01 or 2026-11-01T09:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
