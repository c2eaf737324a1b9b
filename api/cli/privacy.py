"""`ledgerdesk privacy`: erase a person's personal data."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.context import CLI, ByOption, fail, load_settings, operator, services_from
from api.cli.output import counted
from domain.errors import DomainError
from infrastructure.privacy.erasure import ReadModelsBehindError
from infrastructure.privacy.register import RegisterError

app = typer.Typer(help="Personal data: erase a person's data by destroying their key.", no_args_is_help=True)


@app.command("erase")
def privacy_erase(
    person: Annotated[str, typer.Argument(help="The person's id: a requester id or a comment author's actor id.")],
    tenant: Annotated[str, typer.Option(help="The tenant the person belongs to.")],
    by: ByOption = "operator",
) -> None:
    """Erase a person's personal data by destroying their data key (safe to repeat)."""
    with services_from(load_settings()) as services:
        try:
            outcome = services.eraser().erase(tenant=tenant, person_id=person, by=operator(by), via=CLI)
        except (DomainError, ReadModelsBehindError, RegisterError) as error:
            fail(str(error))
    tickets = counted(outcome.tickets, "ticket")
    keys = counted(outcome.keys_destroyed, "key")
    responses = counted(outcome.responses_forgotten, "kept response")
    typer.echo(f"erased {person} in {tenant}: {tickets} recorded the erasure, {keys} destroyed, {responses} dropped")
