"""The `ledgerdesk` command line: serve the API, manage API keys."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn
from uuid import UUID

import typer
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from api.schemas import TicketPublic
from domain.actors import Actor, ActorKind
from domain.errors import DomainError
from infrastructure.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_signature,
    private_key_from_text,
    public_key_from_text,
    public_text,
)
from infrastructure.audit.export import ExportFilter, export_changes, verify_export
from infrastructure.audit.log import AuditLog, AuditUnavailableError
from infrastructure.composition import Services, build_services
from infrastructure.database import ConfigurationError, DatabaseUnavailableError
from infrastructure.keys import Role
from infrastructure.privacy.erasure import ReadModelsBehindError
from infrastructure.readmodels.rebuild import rebuild as rebuild_read_models
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings

SQLITE_CROSS_PROCESS_POLL_SECONDS = 0.1
APP_FACTORY = "api.app:create_app"
CLI = "cli"  # the channel recorded for changes made at the command line


class ReadModelName(StrEnum):
    """Read models that `rebuild` knows."""

    TICKETS = "tickets"


class EventRateColumn(ProgressColumn):
    """Events applied per second."""

    def render(self, task: Task) -> Text:
        """The task's current rate, or a dash before there is one."""
        return Text("-" if task.speed is None else f"{task.speed:,.0f} events/s")


app = typer.Typer(help="ledgerdesk: an event-sourced help desk.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
sla_app = typer.Typer(help="SLA figures of tickets, recomputed from their history.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")
privacy_app = typer.Typer(help="Personal data: erase a person's data by destroying their key.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
audit_app = typer.Typer(help="Audit the event log: verify its hash chain, sign checkpoints.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
projections_app = typer.Typer(
    help="The read models' dead-letter list: events the projection parked, and their retry.", no_args_is_help=True
)
app.add_typer(projections_app, name="projections")


@contextmanager
def _progress(description: str) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar on standard error: events done / total, rate, time left."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("events"))
    with Progress(*columns, EventRateColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        yield bar, bar.add_task(description, total=None)


ByOption = Annotated[str, typer.Option("--by", help="Who is doing this, as recorded on the event.")]


def operator(name: str) -> Actor:
    """The person at the command line: recorded as a system actor with the admin role, via `cli`."""
    try:
        return Actor(name, ActorKind.SYSTEM, role=Role.ADMIN.value)
    except DomainError as error:
        fail(str(error))


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


@app.command()
def migrate() -> None:
    """Make or update every table, function and index, once (safe to repeat, and to run beside others)."""
    with services_from(load_settings(), prepare_schema=False) as services:
        before, after = services.migrate()
        where = services.database.describe()
    if before == after:
        typer.echo(f"ledgerdesk: schema of {where} already at version {after}; nothing to do")
    else:
        typer.echo(f"ledgerdesk: schema of {where} migrated from version {before} to {after}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API worker processes.")] = 1,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    serve_app(APP_FACTORY, host=host, port=port, workers=workers)


def serve_app(factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve the app that `factory` (`module:function`, taking no arguments) builds, as `serve` does.

    The factory is named, not passed, because each uvicorn worker process imports it for itself.
    """
    settings = load_settings()
    # The schema step once here (or the wait for it), so the workers need not take their turns.
    with services_from(settings) as services:
        typer.echo(f"ledgerdesk: events in {services.database.describe()}", err=True)
        in_process = services.projections_in_process()
    os.environ["LEDGERDESK_CREATE_TABLES"] = "false"
    if workers == 1 or not in_process:
        uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_level="info")
        return
    # Several workers: one projection worker here, in the parent, instead of one per worker process.
    os.environ["LEDGERDESK_PROJECTIONS_IN_PROCESS"] = "false"
    with services_from(Settings(create_tables=False)) as services:
        services.start_projections().poll_seconds = SQLITE_CROSS_PROCESS_POLL_SECONDS
        services.start_sla_watcher()
        uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_level="info")


@app.command()
def project() -> None:
    """Run the projection worker: keep the read models up to date until stopped (SIGINT or SIGTERM)."""
    with services_from(load_settings()) as services:
        worker = services.start_projections()
        typer.echo(f"ledgerdesk: projecting events of {services.database.describe()}", err=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        worker.stop()


@app.command("sla-watch")
def sla_watch() -> None:
    """Run the SLA watcher: record SLA warnings, breaches and escalations as they fall due, until stopped.

    Stops on SIGINT or SIGTERM. Several may run at once: each alert is still recorded once.
    """
    with services_from(load_settings()) as services:
        watcher = services.start_sla_watcher()
        every = services.settings.sla_watch_interval_seconds
        typer.echo(f"ledgerdesk: watching SLAs of {services.database.describe()} every {every:g} s", err=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        watcher.stop()
        typer.echo("ledgerdesk: SLA watcher stopped", err=True)


@app.command()
def rebuild(
    view: Annotated[ReadModelName, typer.Argument(help="The read model to rebuild.")] = ReadModelName.TICKETS,
) -> None:
    """Rebuild a read model from the whole log into new tables; switch over only once caught up."""
    with services_from(load_settings()) as services, _progress(f"rebuilding {view.value}") as (bar, task):
        done = rebuild_read_models(
            services.desk, services.read_models, lambda at, head: bar.update(task, completed=at, total=head)
        )
    typer.echo(f"ledgerdesk: {view.value} rebuilt as generation {done.new_generation} up to position {done.position}")
    if done.parked:
        typer.echo(f"ledgerdesk: {done.parked} parked; see `ledgerdesk projections parked`", err=True)


@projections_app.command("parked")
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


@projections_app.command("retry")
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
            typer.echo(f"{o.aggregate_id}  recovered  {o.replayed} events replayed")
        else:
            why = "" if o.failure is None else f"{o.failure.error_type}: {o.failure.reason}"
            typer.echo(f"{o.aggregate_id}  still parked  {why}")
    recovered = sum(o.recovered for o in outcomes)
    typer.echo(f"ledgerdesk: {recovered} of {len(outcomes)} recovered", err=True)


@keys_app.command("create")
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


@keys_app.command("list")
def list_keys() -> None:
    """List keys: id, actor, role, tenant, created, revoked (never the secret)."""
    with services_from(load_settings()) as services:
        records = services.keys.records()
    for r in records:
        who = r.principal
        state = f"revoked {r.revoked_at}" if r.revoked_at else "live"
        actor = f"{who.actor.kind.value} {who.actor.id}"
        if who.actor.groups is not None:
            actor += f" (groups {','.join(sorted(who.actor.groups))})"
        if who.actor.organisation is not None:
            actor += f" (organisation {who.actor.organisation})"
        typer.echo(f"{who.key_id}  {actor}  {who.role.value}  {who.tenant}  {r.created_at}  {state}")


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (shown by `keys list`).")], by: ByOption = "operator"
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with services_from(load_settings()) as services:
        if not services.revoke_key(key_id, by=operator(by), via=CLI):
            fail(f"no live key {key_id}")
    typer.echo(f"key {key_id} revoked")


@keys_app.command("rotate")
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


@sla_app.command("recompute")
def sla_recompute(
    ticket: Annotated[UUID, typer.Argument(help="The ticket's id.")],
    tenant: Annotated[str, typer.Option(help="The ticket's tenant.")],
    policy: Annotated[str, typer.Option(help="The policy to recompute under.")],
    version: Annotated[int | None, typer.Option(min=1, help="The policy version (default: the latest).")] = None,
    at: Annotated[datetime | None, typer.Option(help="Judge at this moment (default: now; no offset: UTC).")] = None,
    apply: Annotated[bool, typer.Option(help="Also put the recomputed clocks on record for the ticket.")] = False,
    by: ByOption = "operator",
) -> None:
    """Print a ticket's SLA targets as if the policy version had applied all along, one JSON line per target."""
    with services_from(load_settings()) as services:
        try:
            moment = _aware(at)
            statuses = services.desk.recompute_sla(ticket, tenant=tenant, policy=policy, version=version, now=moment)
            for status in statuses:
                typer.echo(json.dumps(status.as_dict()))
            if apply:
                receipt = services.desk.apply_policy(
                    ticket, tenant=tenant, policy=policy, version=version, by=operator(by), via=CLI
                )
                typer.echo(f"ledgerdesk: recorded at position {receipt.position}", err=True)
        except DomainError as error:
            fail(str(error))


@privacy_app.command("erase")
def privacy_erase(
    person: Annotated[str, typer.Argument(help="The person's id: a requester id or a comment author's actor id.")],
    tenant: Annotated[str, typer.Option(help="The tenant the person belongs to.")],
    by: ByOption = "operator",
) -> None:
    """Erase a person's personal data by destroying their data key (safe to repeat)."""
    with services_from(load_settings()) as services:
        try:
            outcome = services.eraser().erase(tenant=tenant, person_id=person, by=operator(by), via=CLI)
        except (DomainError, ReadModelsBehindError) as error:
            fail(str(error))
    typer.echo(
        f"erased {person} in {tenant}: {outcome.tickets} tickets recorded the erasure, "
        f"{outcome.keys_destroyed} keys destroyed, {outcome.responses_forgotten} kept responses dropped"
    )


def main() -> None:
    """Console-script entry point."""
    app()


def _signing_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.audit_signing_key is None:
        fail("set LEDGERDESK_AUDIT_SIGNING_KEY (make one with `ledgerdesk audit keygen`)")
    try:
        return private_key_from_text(settings.audit_signing_key.get_secret_value())
    except CheckpointError as error:
        fail(str(error))


def _audit_log(services: Services) -> AuditLog:
    try:
        return AuditLog(services.desk)
    except AuditUnavailableError as error:
        fail(str(error))


@audit_app.command("keygen")
def audit_keygen() -> None:
    """Print a new Ed25519 signing key (keep it secret) and its public key (give it to verifiers)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    typer.echo(f"public key: {public_text(key)}")
    typer.echo("signing key (set as LEDGERDESK_AUDIT_SIGNING_KEY; shown once):", err=True)
    typer.echo(base64.b64encode(raw).decode())


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path | None, typer.Option(help="Write the checkpoint here instead of to standard output.")] = None,
) -> None:
    """Sign the chain's current head (position and digest); store the result outside the database."""
    settings = load_settings()
    key = _signing_key(settings)
    with services_from(settings) as services:
        checkpoint = _audit_log(services).checkpoint(key, datetime.now(UTC))
    if out is None:
        typer.echo(checkpoint.to_json(), nl=False)
    else:
        out.write_text(checkpoint.to_json())
        typer.echo(f"ledgerdesk: checkpoint at position {checkpoint.position} written to {out}", err=True)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[Path | None, typer.Option(help="Also prove the log matches this signed checkpoint.")] = None,
    public_key: Annotated[
        str | None, typer.Option(help="Trusted public key (base64); default: the configured signing key's.")
    ] = None,
) -> None:
    """Recompute the hash chain from the stored events; name the first event changed, deleted, inserted or reordered."""
    settings = load_settings()
    trusted_checkpoint = None
    if checkpoint is not None:
        trusted_checkpoint = _trusted_checkpoint(checkpoint, public_key, settings)
    with services_from(settings) as services, _progress("verifying") as (bar, task):
        result = _audit_log(services).verify(
            checkpoint=trusted_checkpoint, progress=lambda at, head: bar.update(task, completed=at, total=head)
        )
    if result.finding is None:
        proof = f", matching the checkpoint at position {trusted_checkpoint.position}" if trusted_checkpoint else ""
        typer.echo(f"OK: {result.events} events up to position {result.head_position} verify{proof}")
        return
    f = result.finding
    typer.echo(
        f"TAMPERED: {f.kind} at position {f.position} (aggregate {f.aggregate_id} version {f.version}): {f.detail}"
    )
    raise typer.Exit(code=1)


def _trusted_checkpoint(path: Path, public_key: str | None, settings: Settings) -> Checkpoint:
    try:
        found = Checkpoint.from_json(path.read_text())
        trusted = public_key_from_text(public_key) if public_key else _signing_key(settings).public_key()
        check_signature(found, trusted)
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except CheckpointError as error:
        fail(str(error))
    return found


class ExportFormat(StrEnum):
    """Export file formats."""

    JSONL = "jsonl"
    CSV = "csv"


@audit_app.command("export")
def audit_export(
    tenant: Annotated[str, typer.Option(help="The tenant whose changes to export.")],
    out: Annotated[Path, typer.Option(help="The file to write.")],
    since: Annotated[datetime | None, typer.Option("--from", help="Changes at or after this moment.")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="Changes before this moment.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Only tickets of this organisation.")] = None,
    ticket: Annotated[UUID | None, typer.Option(help="Only this ticket.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")] = ExportFormat.JSONL,
) -> None:
    """Export every change in range, with chain hashes, ending in a signed manifest (no row cap)."""
    settings = load_settings()
    key = _signing_key(settings)
    where = ExportFilter(tenant, _aware(since), _aware(until), organisation, ticket)
    with services_from(settings) as services, _progress("exporting") as (bar, task), out.open("wb") as file:
        lines = export_changes(
            _audit_log(services),
            services.read_models,
            where,
            fmt=fmt.value,
            key=key,
            now=datetime.now(UTC),
            progress=lambda at, head: bar.update(task, completed=at, total=head),
        )
        for line in lines:
            file.write(line)
    manifest = verify_export(out.read_bytes(), key.public_key())
    typer.echo(f"ledgerdesk: {manifest.count} changes written to {out}, manifest signed")


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="An export file (its manifest is its last line).")],
    public_key: Annotated[
        str | None, typer.Option(help="Trusted public key (base64); default: the configured signing key's.")
    ] = None,
) -> None:
    """Check an export against its signed manifest: every row present, unchanged, nothing added."""
    settings = load_settings()
    try:
        trusted = public_key_from_text(public_key) if public_key else _signing_key(settings).public_key()
        manifest = verify_export(file.read_bytes(), trusted)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}")
    except CheckpointError as error:
        typer.echo(f"INVALID: {error}")
        raise typer.Exit(code=1) from None
    span = f"positions {manifest.first_position}-{manifest.last_position}" if manifest.count else "no changes"
    typer.echo(f"OK: {manifest.count} changes ({span}) match the signed manifest")


def _aware(moment: datetime | None) -> datetime | None:
    """Moments without an offset are taken as UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.command("show")
def audit_show(
    ticket: Annotated[UUID, typer.Argument(help="The ticket's id.")],
    as_of: Annotated[
        datetime | None, typer.Option(help="The ticket as it was at this moment (UTC if no offset).")
    ] = None,
    version: Annotated[int | None, typer.Option(help="The ticket as it was right after this version.")] = None,
) -> None:
    """Print a ticket as JSON: now, at a past moment, or at a version."""
    if as_of is not None and version is not None:
        fail("give --as-of or --version, not both")
    with services_from(load_settings()) as services:
        desk = services.desk
        try:
            if as_of is not None:
                found = desk.ticket_as_of(ticket, _aware(as_of) or as_of)
            elif version is not None:
                found = desk.ticket_at_version(ticket, version)
            else:
                found = desk.get_ticket(ticket)
        except DomainError as error:
            fail(str(error))
    typer.echo(TicketPublic.from_domain(found).model_dump_json(indent=2))


@audit_app.command("diff")
def audit_diff(
    ticket: Annotated[UUID, typer.Argument(help="The ticket's id.")],
    from_version: Annotated[int, typer.Argument(help="The earlier version.")],
    to_version: Annotated[int, typer.Argument(help="The later version.")],
) -> None:
    """Print what differs between two versions of a ticket, one field per line: field: old -> new."""
    with services_from(load_settings()) as services:
        try:
            changes = services.desk.diff(ticket, from_version, to_version)
        except DomainError as error:
            fail(str(error))
    for change in changes:
        typer.echo(f"{change.field}: {json.dumps(change.old)} -> {json.dumps(change.new)}")
