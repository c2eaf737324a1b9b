"""The read models from the command line: `rebuild`, and the dead-letter list (`projections parked`, `retry`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

import typer

from api.cli.context import fail, load_settings, services_from
from api.cli.output import counted, progress
from infrastructure.readmodels.rebuild import rebuild as rebuild_read_models
from infrastructure.readmodels.worker import ProjectionWorker

app = typer.Typer(
    help="The read models' dead-letter list: events the projection parked, and their retry.", no_args_is_help=True
)


class ReadModelName(StrEnum):
    """Read models that `rebuild` knows."""

    TICKETS = "tickets"


def rebuild(
    view: Annotated[ReadModelName, typer.Argument(help="The read model to rebuild.")] = ReadModelName.TICKETS,
) -> None:
    """Rebuild a read model from the whole log into new tables; switch over only once caught up."""
    with services_from(load_settings()) as services, progress(f"rebuilding {view.value}") as (bar, task):
        done = rebuild_read_models(
            services.desk, services.read_models, lambda at, head: bar.update(task, completed=at, total=head)
        )
    typer.echo(f"ledgerdesk: {view.value} rebuilt as generation {done.new_generation} up to position {done.position}")
    if done.parked:
        typer.echo(f"ledgerdesk: {done.parked} parked; see `ledgerdesk projections parked`", err=True)


@app.command("parked")
def projections_parked() -> None:
    """List parked aggregates, one line each: id, tenant, position, event type, stage, error, skipped events."""
    with services_from(load_settings()) as services:
        entries = services.read_models.active_view().parked()
    for e in entries:
        typer.echo(
            f"{e.aggregate_id}  {e.tenant or '-'}  position {e.position}  {e.topic}  {e.stage}  "
            f"{e.error_type}: {e.reason}  skipped {e.skipped}  attempts {e.attempts}  parked {e.parked_at.isoformat()}"
        )
    typer.echo(f"ledgerdesk: {len(entries)} parked", err=True)


@app.command("retry")
def projections_retry(
    ticket: Annotated[
        UUID | None, typer.Option(help="Retry only this ticket (or other parked aggregate); default: all.")
    ] = None,
) -> None:
    """Replay parked aggregates' skipped events, once the cause is fixed; print what recovered."""
    with services_from(load_settings()) as services:
        outcomes = ProjectionWorker(services.desk, services.read_models).retry(ticket)
    if ticket is not None and not outcomes:
        fail(f"{ticket} is not parked")
    for o in outcomes:
        if o.recovered:
            typer.echo(f"{o.aggregate_id}  recovered  {counted(o.replayed, 'event')} replayed")
        else:
            why = "" if o.failure is None else f"{o.failure.error_type}: {o.failure.reason}"
            typer.echo(f"{o.aggregate_id}  still parked  {why}")
    recovered = sum(o.recovered for o in outcomes)
    typer.echo(f"ledgerdesk: {recovered} of {len(outcomes)} recovered", err=True)
