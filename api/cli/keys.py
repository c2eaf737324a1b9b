"""`ledgerdesk keys`: create, list, revoke and rotate API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.context import CLI, ByOption, fail, load_settings, operator, services_from
from api.cli.output import table
from domain.access.policy import Role
from domain.actors import ActorKind
from domain.errors import DomainError
from infrastructure.keys import KeyRecord

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

KEY_COLUMNS = ("id", "actor", "role", "tenant", "created", "state")


@app.command("create")
def create_key(
    actor: Annotated[str, typer.Option(help="The actor id recorded on events made with this key.")],
    role: Annotated[Role, typer.Option(help="The principal's role.")],
    tenant: Annotated[str, typer.Option(help="The tenant the principal belongs to.")],
    kind: Annotated[
        ActorKind | None, typer.Option(help="Actor kind (default: requester for customers, else agent).")
    ] = None,
    organisation: Annotated[
        str | None, typer.Option(help="Customers only: their organisation, whose tickets they may then read.")
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(help="Agents and supervisors only: limit the key to these groups (comma-separated)."),
    ] = None,
    by: ByOption = "operator",
) -> None:
    """Create an API key. The key is printed once, alone on the last line; only its hash is stored."""
    with services_from(load_settings()) as services:
        try:
            issued = services.issue_key(
                actor_id=actor,
                role=role,
                tenant=tenant,
                kind=kind,
                organisation=organisation,
                groups=None if groups is None else [g.strip() for g in groups.split(",") if g.strip()],
                by=operator(by),
                via=CLI,
            )
        except DomainError as error:
            fail(str(error))
    who = issued.principal
    typer.echo(f"key {who.key_id} for {who.actor.kind.value} {who.actor.id} ({who.role.value}, tenant {who.tenant})")
    typer.echo("store it now: it cannot be shown again", err=True)
    typer.echo(issued.secret)


@app.command("list")
def list_keys() -> None:
    """List keys under a header row: id, actor, role, tenant, created, state (never the secret)."""
    with services_from(load_settings()) as services:
        records = services.keys.records()
    for line in table(KEY_COLUMNS, [_key_row(r) for r in records]):
        typer.echo(line)


def _key_row(record: KeyRecord) -> tuple[str, ...]:
    """One key's cells, in the order of KEY_COLUMNS."""
    who = record.principal
    state = f"revoked {record.revoked_at}" if record.revoked_at else "live"
    actor = f"{who.actor.kind.value} {who.actor.id}"
    if who.actor.groups is not None:
        actor += f" (groups {','.join(sorted(who.actor.groups))})"
    if who.actor.organisation is not None:
        actor += f" (organisation {who.actor.organisation})"
    return (who.key_id, actor, who.role.value, who.tenant, record.created_at, state)


@app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (shown by `keys list`).")], by: ByOption = "operator"
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with services_from(load_settings()) as services:
        if not services.revoke_key(key_id, by=operator(by), via=CLI):
            fail(f"no live key {key_id}")
    typer.echo(f"key {key_id} revoked")


@app.command("rotate")
def rotate_key(key_id: Annotated[str, typer.Argument(help="The key to replace.")], by: ByOption = "operator") -> None:
    """Issue a new key for the same principal and revoke the old one; the new key is the last line."""
    with services_from(load_settings()) as services:
        old = next(
            (r.principal for r in services.keys.records() if r.principal.key_id == key_id and not r.revoked_at), None
        )
        if old is None:
            fail(f"no live key {key_id}")
        who = operator(by)
        issued = services.issue_key(
            actor_id=old.actor.id,
            role=old.role,
            tenant=old.tenant,
            kind=old.actor.kind,
            organisation=old.actor.organisation,
            groups=old.actor.groups,
            by=who,
            via=CLI,
        )
        services.revoke_key(key_id, by=who, via=CLI)
    typer.echo(f"key {key_id} revoked; new key {issued.principal.key_id} for the same principal")
    typer.echo("store it now: it cannot be shown again", err=True)
    typer.echo(issued.secret)
