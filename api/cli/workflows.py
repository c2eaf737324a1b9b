"""`ledgerdesk workflows`: list, show and publish a tenant's workflows, and migrate tickets to a later version."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError

from api.cli.context import CLI, ByOption, fail, load_settings, operator, services_from
from api.cli.output import counted, table
from api.workflow_schemas import WorkflowIn, WorkflowOut
from domain.errors import DomainError

app = typer.Typer(help="A tenant's workflows: their versions, and moving tickets to a later one.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option(help="The tenant whose workflows these are.")]


@app.command("list")
def list_workflows(tenant: TenantOption) -> None:
    """The latest version of each workflow, `default` first: name, version, states, ticket types."""
    with services_from(load_settings()) as services:
        versions = services.desk.workflows(tenant)
    rows = [
        (v.name, str(v.version), " ".join(v.lifecycle.states), " ".join(sorted(v.lifecycle.ticket_types)) or "-")
        for v in versions
    ]
    for line in table(("name", "version", "states", "ticket types"), rows):
        typer.echo(line)


@app.command("show")
def show_workflow(
    name: Annotated[str, typer.Argument(help="The workflow's name.")],
    tenant: TenantOption,
    version: Annotated[int | None, typer.Option(min=1, help="A version (default: the latest).")] = None,
) -> None:
    """A workflow version as JSON, as `GET /workflows/{name}` answers it."""
    with services_from(load_settings()) as services:
        try:
            found = services.desk.workflow(tenant, name, version)
        except DomainError as error:
            fail(str(error))
    typer.echo(WorkflowOut.of(found).model_dump_json(by_alias=True, indent=2))


@app.command("publish")
def publish_workflow(
    name: Annotated[str, typer.Argument(help="The workflow's name.")],
    definition: Annotated[str, typer.Argument(help="A JSON file as PUT /workflows/{name} takes it, or - for stdin.")],
    tenant: TenantOption,
    by: ByOption = "operator",
) -> None:
    """Publish a new version of a workflow (an identical definition records nothing)."""
    text = sys.stdin.read() if definition == "-" else _read(Path(definition))
    try:
        body = WorkflowIn.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the definition"
        fail(f"{where}: {first['msg']}")
    with services_from(load_settings()) as services:
        try:
            receipt = services.desk.publish_workflow(
                tenant=tenant, name=name, definition=body.definition(), by=operator(by), via=CLI
            )
        except DomainError as error:
            fail(str(error))
    said = "published" if receipt.position is not None else "unchanged:"
    typer.echo(f"workflow {receipt.name} {said} version {receipt.version}")


@app.command("migrate")
def migrate_tickets(
    name: Annotated[str, typer.Argument(help="The workflow's name.")],
    tenant: TenantOption,
    from_version: Annotated[int, typer.Option(min=1, help="The version the tickets run under now.")],
    to_version: Annotated[int | None, typer.Option(min=1, help="The version to move to (default: the latest).")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="OLD=NEW: the old state's tickets go to the new one (repeat; same names map to themselves)."
        ),
    ] = None,
    ticket: Annotated[
        list[UUID] | None,
        typer.Option(help="Only this ticket (repeat; default: every ticket not closed on the version)."),
    ] = None,
    by: ByOption = "operator",
) -> None:
    """Move tickets to a later version of their workflow, per ticket; refused whole if the mapping is incomplete."""
    mapping = dict(_pair(item) for item in map_ or [])
    with services_from(load_settings()) as services:
        try:
            target = services.desk.workflow(tenant, name, to_version)
            tickets = ticket or services.read_models.tickets().on_workflow_version(tenant, name, from_version)
            results = services.desk.migrate_tickets(
                tenant=tenant,
                name=name,
                from_version=from_version,
                to_version=target.version,
                mapping=mapping,
                ticket_ids=tickets,
                by=operator(by),
                via=CLI,
            )
        except DomainError as error:
            fail(str(error))
    for result in results:
        if result.error is not None:
            typer.echo(f"{result.ticket_id}: not migrated: {result.error}", err=True)
    moved = sum(1 for r in results if r.error is None)
    typer.echo(f"{counted(moved, 'ticket')} moved to {name} version {target.version}")
    if moved < len(results):
        raise typer.Exit(1)


def _pair(item: str) -> tuple[str, str]:
    old, sep, new = item.partition("=")
    if not sep or not old or not new:
        fail(f"--map takes OLD=NEW (got {item!r})")
    return old, new


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
