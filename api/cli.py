"""The `ledgerdesk` command line: serve the API, manage API keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError

from domain.actors import ActorKind
from domain.errors import DomainError
from infrastructure.composition import Services, build_services
from infrastructure.database import ConfigurationError, DatabaseUnavailableError
from infrastructure.keys import Role
from infrastructure.settings import Settings

app = typer.Typer(help="ledgerdesk: an event-sourced help desk.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit with status 2."""
    typer.echo(f"ledgerdesk: error: {message}", err=True)
    raise typer.Exit(code=2)


def load_settings() -> Settings:
    """Settings from the environment, or a one-line error."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"invalid setting LEDGERDESK_{str(first['loc'][0]).upper()}: {first['msg']}")


@contextmanager
def services_from(settings: Settings) -> Iterator[Services]:
    """Build the services, turning configuration and connection problems into one-line errors."""
    try:
        services = build_services(settings)
    except (ConfigurationError, DatabaseUnavailableError) as error:
        fail(str(error))
    try:
        yield services
    finally:
        services.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API worker processes.")] = 1,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    settings = load_settings()
    # Create tables once here: several workers creating them at once would race.
    with services_from(settings) as services:
        typer.echo(f"ledgerdesk: events in {services.database.describe()}", err=True)
    os.environ["LEDGERDESK_CREATE_TABLES"] = "false"
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


@keys_app.command("create")
def create_key(
    actor: Annotated[str, typer.Option(help="The actor id recorded on events made with this key.")],
    role: Annotated[Role, typer.Option(help="The principal's role.")],
    tenant: Annotated[str, typer.Option(help="The tenant the principal belongs to.")],
    kind: Annotated[
        ActorKind | None, typer.Option(help="Actor kind (default: requester for customers, else agent).")
    ] = None,
) -> None:
    """Create an API key. The key is printed once, alone on the last line; only its hash is stored."""
    with services_from(load_settings()) as services:
        try:
            issued = services.keys.create(actor_id=actor, role=role, tenant=tenant, kind=kind)
        except DomainError as error:
            fail(str(error))
    who = issued.principal
    typer.echo(f"key {who.key_id} for {who.actor.kind.value} {who.actor.id} ({who.role.value}, tenant {who.tenant})")
    typer.echo("store it now: it cannot be shown again", err=True)
    typer.echo(issued.secret)


def main() -> None:
    """Console-script entry point."""
    app()
