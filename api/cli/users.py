"""`ledgerdesk users`: create the people who sign in to the web pages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli.context import CLI, ByOption, fail, load_settings, operator, services_from
from domain.access.policy import Role
from domain.errors import DomainError
from infrastructure.users import default_actor_id

app = typer.Typer(help="Manage the users who sign in to the web pages.", no_args_is_help=True)


@app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="The address the user signs in with.")],
    role: Annotated[Role, typer.Option(help="The principal's role, as API keys have one.")],
    tenant: Annotated[str, typer.Option(help="The tenant the user belongs to.")],
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Agents and supervisors only: limit the user to a group.")
    ] = None,
    organisation: Annotated[
        str | None, typer.Option(help="Customers only: their organisation, whose tickets they may then read.")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(help="The actor id recorded on the user's events (default: the address, or an id made from it)."),
    ] = None,
    language: Annotated[str | None, typer.Option(help="en or zh_CN (default: the browser's language).")] = None,
    time_zone: Annotated[str, typer.Option(help="The IANA time zone dates are shown in.")] = "UTC",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (required).")
    ] = False,
    by: ByOption = "operator",
) -> None:
    """Create a web user; the password comes from standard input, so it never shows in a process list."""
    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    with services_from(load_settings()) as services:
        try:
            user = services.create_user(
                email=email,
                password=password,
                actor_id=actor or default_actor_id(email),
                role=role,
                tenant=tenant,
                organisation=organisation,
                groups=group or None,
                language=language,
                time_zone=time_zone,
                by=operator(by),
                via=CLI,
            )
        except DomainError as error:
            fail(str(error))
    who = user.principal
    acts_as = f"{who.actor.kind.value} {who.actor.id} ({who.role.value}, tenant {who.tenant})"
    typer.echo(f"user {user.user_id} {user.email} as {acts_as}")
