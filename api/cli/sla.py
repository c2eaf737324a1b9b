"""`ledgerdesk sla`: a ticket's SLA figures, recomputed from its history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import typer

from api.cli.context import CLI, ByOption, aware, fail, load_settings, operator, services_from
from api.sla_schemas import TargetOut
from domain.errors import DomainError

app = typer.Typer(help="SLA figures of tickets, recomputed from their history.", no_args_is_help=True)


@app.command("recompute")
def sla_recompute(
    ticket: Annotated[UUID, typer.Argument(help="The ticket's id.")],
    tenant: Annotated[str, typer.Option(help="The ticket's tenant.")],
    policy: Annotated[str, typer.Option(help="The policy to recompute under.")],
    version: Annotated[int | None, typer.Option(min=1, help="The policy version (default: the latest).")] = None,
    at: Annotated[datetime | None, typer.Option(help="Judge at this moment (default: now; no offset: UTC).")] = None,
    apply: Annotated[bool, typer.Option(help="Also put the recomputed clocks on record for the ticket.")] = False,
    by: ByOption = "operator",
) -> None:
    """Print a ticket's SLA targets as if the policy version had applied all along, one JSON line per target.

    Each line is a target as `GET /tickets/{id}/sla?policy=...` answers it: the same field names, moments in UTC.
    """
    with services_from(load_settings()) as services:
        try:
            # In UTC, so every moment printed ends in Z, as the domain's own moments do.
            now = (aware(at) or services.desk.clock()).astimezone(UTC)
            statuses = services.desk.recompute_sla(ticket, tenant=tenant, policy=policy, version=version, now=now)
            for status in statuses:
                typer.echo(TargetOut.judged(status, now).model_dump_json())
            if apply:
                receipt = services.desk.apply_policy(
                    ticket, tenant=tenant, policy=policy, version=version, by=operator(by), via=CLI
                )
                typer.echo(f"ledgerdesk: recorded at position {receipt.position}", err=True)
        except DomainError as error:
            fail(str(error))
