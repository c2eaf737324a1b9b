"""`ledgerdesk export`: a dataset for analysts as a Parquet or CSV file (docs/analytics.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api.cli.context import fail, load_settings, services_from
from api.cli.output import counted, progress
from infrastructure.exports.export import COUNTS, export_file
from infrastructure.exports.scope import Dataset, ExportScope, FileFormat

Choice = TypeVar("Choice", bound=StrEnum)


def export(
    dataset: Annotated[str, typer.Argument(help="tickets, events, sla or comments.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="The file to write (replaced whole once written).")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = FileFormat.PARQUET.value,
    since: Annotated[
        str | None,
        typer.Option(help="ISO-8601 (UTC if no offset): tickets updated, SLA targets started, events recorded since."),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's rows (default: every tenant's).")] = None,
) -> None:
    """Export a dataset as typed columns, times in UTC, without personal data, streamed a page at a time."""
    chosen, file_format = _choice(Dataset, dataset, "dataset"), _choice(FileFormat, fmt, "--format")
    scope = ExportScope(tenant=tenant, since=_moment(since))
    if not output.parent.is_dir():
        fail(f"cannot write {output}: no directory {output.parent}")
    with services_from(load_settings()) as services, progress(f"exporting {chosen}", COUNTS[chosen]) as (bar, task):
        try:
            rows = export_file(
                services, chosen, file_format, scope, output, lambda at, end: bar.update(task, completed=at, total=end)
            )
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror}")
    typer.echo(f"ledgerdesk: {counted(rows, 'row')} of {chosen} written to {output} ({file_format})", err=True)


def _choice(kind: type[Choice], text: str, what: str) -> Choice:
    try:
        return kind(text.lower())
    except ValueError:
        fail(f"{what} {text!r} is not one of {', '.join(c.value for c in kind)}")


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not an ISO-8601 moment (for example 2026-11-01 or 2026-11-01T09:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
