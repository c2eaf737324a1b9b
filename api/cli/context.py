"""What every command stands on: settings, services, the operator, and one-line failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import DomainError
from infrastructure.composition import Services, build_services
from infrastructure.database import ConfigurationError, DatabaseUnavailableError
from infrastructure.settings import Settings

CLI = "cli"  # the channel recorded for changes made at the command line

ByOption = Annotated[str, typer.Option("--by", help="Who is doing this, as recorded on the event.")]


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit with status 2."""
    typer.echo(f"ledgerdesk: error: {message}", err=True)
    raise typer.Exit(code=2)


def operator(name: str) -> Actor:
    """The person at the command line: recorded as a system actor with the admin role, via `cli`."""
    try:
        return Actor(name, ActorKind.SYSTEM, role=Role.ADMIN.value)
    except DomainError as error:
        fail(str(error))


def load_settings() -> Settings:
    """Settings from the environment, or a one-line error."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"invalid setting LEDGERDESK_{str(first['loc'][0]).upper()}: {first['msg']}")


@contextmanager
def services_from(settings: Settings, *, prepare_schema: bool = True) -> Iterator[Services]:
    """Build the services, turning configuration and connection problems into one-line errors."""
    try:
        services = build_services(settings, prepare_schema=prepare_schema)
    except (ConfigurationError, DatabaseUnavailableError) as error:
        fail(str(error))
    try:
        yield services
    except (OperationalError, InterfaceError) as error:
        # The database went away or had no connection for us (the message names the budget then).
        fail(f"the database failed: {str(error).strip().splitlines()[-1]}")
    finally:
        services.close()


def aware(moment: datetime | None) -> datetime | None:
    """Moments without an offset are taken as UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
