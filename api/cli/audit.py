"""`ledgerdesk audit`: the hash chain, signed checkpoints and exports, a ticket as it was."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from api.cli.context import aware, fail, load_settings, services_from
from api.cli.output import counted, one_or_many, progress
from api.schemas import TicketPublic
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
from infrastructure.composition import Services
from infrastructure.settings import Settings

app = typer.Typer(help="Audit the event log: verify its hash chain, sign checkpoints.", no_args_is_help=True)

PublicKeyOption = Annotated[
    str | None, typer.Option(help="Trusted public key (base64); default: the configured signing key's.")
]


class ExportFormat(StrEnum):
    """Export file formats."""

    JSONL = "jsonl"
    CSV = "csv"


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


@app.command("keygen")
def audit_keygen() -> None:
    """Make an Ed25519 signing key: the key alone on stdout (keep it secret), its public key on stderr."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    # Only the secret on stdout, as the last line of `keys create`: `$(ledgerdesk audit keygen)` is the key.
    typer.echo(f"public key: {public_text(key)}", err=True)
    hint = "set the signing key (on stdout) as LEDGERDESK_AUDIT_SIGNING_KEY; store it now: it cannot be shown again"
    typer.echo(hint, err=True)
    typer.echo(base64.b64encode(raw).decode())


@app.command("checkpoint")
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


@app.command("verify")
def audit_verify(
    checkpoint: Annotated[Path | None, typer.Option(help="Also prove the log matches this signed checkpoint.")] = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Recompute the hash chain from the stored events; name the first event changed, deleted, inserted or reordered."""
    settings = load_settings()
    trusted_checkpoint = None
    if checkpoint is not None:
        trusted_checkpoint = _trusted_checkpoint(checkpoint, public_key, settings)
    with services_from(settings) as services, progress("verifying") as (bar, task):
        result = _audit_log(services).verify(
            checkpoint=trusted_checkpoint, progress=lambda at, head: bar.update(task, completed=at, total=head)
        )
    if result.finding is None:
        proof = f", matching the checkpoint at position {trusted_checkpoint.position}" if trusted_checkpoint else ""
        verify = one_or_many(result.events, "verifies", "verify")
        typer.echo(f"OK: {counted(result.events, 'event')} up to position {result.head_position} {verify}{proof}")
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


@app.command("export")
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
    where = ExportFilter(tenant, aware(since), aware(until), organisation, ticket)
    with services_from(settings) as services, progress("exporting") as (bar, task), out.open("wb") as file:
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
    typer.echo(f"ledgerdesk: {counted(manifest.count, 'change')} written to {out}, manifest signed")


@app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="An export file (its manifest is its last line).")],
    public_key: PublicKeyOption = None,
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
    match = one_or_many(manifest.count, "matches", "match")
    typer.echo(f"OK: {counted(manifest.count, 'change')} ({span}) {match} the signed manifest")


@app.command("show")
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
                found = desk.ticket_as_of(ticket, aware(as_of) or as_of)
            elif version is not None:
                found = desk.ticket_at_version(ticket, version)
            else:
                found = desk.get_ticket(ticket)
        except DomainError as error:
            fail(str(error))
    typer.echo(TicketPublic.from_domain(found).model_dump_json(indent=2))


@app.command("diff")
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
