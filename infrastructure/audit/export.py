"""Audit exports: every change in a range, as JSON lines or CSV, streamed, ending in a signed manifest.

The export walks the log in position order a page at a time, so memory stays constant however
long the range. Each row carries the event's chain hash, tying it to the verifiable log. The
last line is the manifest: row count, first and last position, the SHA-256 of every byte before
it, the filters, and an Ed25519 signature over all of that. `verify_export` checks a file
against its manifest.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.tickets.history import field_changes
from domain.tickets.ticket import Ticket
from infrastructure.audit.checkpoint import CheckpointError, check_signed, public_text
from infrastructure.audit.log import AuditLog
from infrastructure.privacy.mapper import PersonalDataMapper
from infrastructure.readmodels.store import ReadModels

PAGE = 5000  # events per page: each page asks the read model for its tickets' owners once
CSV_COLUMNS = (
    "position",
    "ticket_id",
    "version",
    "at",
    "actor_id",
    "actor_kind",
    "actor_role",
    "via",
    "correlation_id",
    "causation_id",
    "event",
    "changes",
    "chain_hash",
)
CSV_MANIFEST_PREFIX = b"# manifest "
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which changes an export holds: one tenant's, optionally by period, organisation or ticket."""

    tenant: str
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    organisation: str | None = None
    ticket_id: UUID | None = None

    def describe(self) -> dict[str, str | None]:
        """The filter as plain strings, for the manifest."""
        return {
            "tenant": self.tenant,
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
            "organisation": self.organisation,
            "ticket_id": None if self.ticket_id is None else str(self.ticket_id),
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an export holds, signed."""

    format: str
    count: int
    first_position: int | None
    last_position: int | None
    sha256: str
    filters: dict[str, str | None]
    created_at: str
    public_key: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers."""
        fields = asdict(self)
        fields.pop("signature")
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class _Tally:
    count: int = 0
    first: int | None = None
    last: int | None = None
    digest: Any = field(default_factory=hashlib.sha256)


def export_changes(
    audit: AuditLog,
    read_models: ReadModels,
    where: ExportFilter,
    *,
    fmt: str,
    key: Ed25519PrivateKey,
    now: datetime,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The export, line by line (bytes), manifest last."""
    tally = _Tally()
    render = _json_line if fmt == "jsonl" else _csv_line
    if fmt == "csv":
        header = _csv_row(CSV_COLUMNS)
        tally.digest.update(header)
        yield header
    for row in _changes(audit, read_models, where, progress):
        line = render(row)
        tally.digest.update(line)
        tally.count += 1
        tally.first = row["position"] if tally.first is None else tally.first
        tally.last = row["position"]
        yield line
    yield _manifest_line(fmt, _sign(fmt, tally, where, now, key))


def _changes(
    audit: AuditLog, read_models: ReadModels, where: ExportFilter, progress: Progress | None
) -> Iterator[dict[str, Any]]:
    stop = read_models.position()  # the read model tells each ticket's tenant and organisation
    tickets = read_models.tickets()
    # Where the store can, other tenants' events stay in the database; what comes is still checked below.
    within = tickets.ids_owned_by(where.tenant, where.organisation)
    for page in audit.pages(0, stop, PAGE, within=within):
        owners = tickets.owners_of({_ticket_id(n) for n, _ in page})
        # Only the tenant's events are decoded (and their keys fetched, a page's in one query).
        ours = [(n, chain) for n, chain in page if _owned(owners.get(_ticket_id(n)), _ticket_id(n), where)]
        for (notification, chain), event in zip(ours, _decoded(audit, [n for n, _ in ours]), strict=True):
            if _wanted(event, owners[_ticket_id(notification)], where):
                yield _row(notification.id, event, chain)
        if progress is not None:
            progress(page[-1][0].id, stop)


def _ticket_id(notification: Any) -> UUID:
    ident = notification.originator_id
    return ident if isinstance(ident, UUID) else UUID(ident)


def _decoded(audit: AuditLog, notifications: list[Any]) -> list[Any]:
    mapper = audit.desk.mapper
    if isinstance(mapper, PersonalDataMapper):
        return mapper.to_whole_domain_events(notifications)
    return [mapper.to_domain_event(n) for n in notifications]


def _owned(owner: Any, ticket_id: UUID, where: ExportFilter) -> bool:
    """Whether a ticket is among those exported: the tenant's, of the organisation and the ticket asked for."""
    if owner is None or owner.tenant != where.tenant:
        return False
    if where.organisation is not None and owner.organisation != where.organisation:
        return False
    return where.ticket_id is None or ticket_id == where.ticket_id


def _wanted(event: Any, owner: Any, where: ExportFilter) -> bool:
    if not isinstance(event, Ticket.Event) or not _owned(owner, event.originator_id, where):
        return False
    if where.start is not None and event.timestamp < where.start:
        return False
    return where.end is None or event.timestamp < where.end


def _row(position: int, event: Any, chain_hash: str) -> dict[str, Any]:
    return {
        "position": position,
        "ticket_id": str(event.originator_id),
        "version": event.originator_version,
        "at": event.timestamp.isoformat(),
        "actor_id": event.actor_id,
        "actor_kind": event.actor_kind,
        "actor_role": event.actor_role,
        "via": event.via,
        # Why an automated change happened: the event that caused it (`<ticket>@<version>`), beside its rule.
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "event": type(event).__name__,
        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in field_changes(event)],
        "chain_hash": chain_hash,
    }


# Moments and dataclasses inside changes are written as `str()` writes them, as exports always have.
_JSON_LINE = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
_JSON_LINE |= orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json_line(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, default=str, option=_JSON_LINE)


def _csv_row(values: tuple[Any, ...] | list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def _csv_line(row: dict[str, Any]) -> bytes:
    values = [json.dumps(row[c], default=str) if c == "changes" else row[c] for c in CSV_COLUMNS]
    return _csv_row(values)


def _sign(fmt: str, tally: _Tally, where: ExportFilter, now: datetime, key: Ed25519PrivateKey) -> Manifest:
    unsigned = Manifest(
        format=fmt,
        count=tally.count,
        first_position=tally.first,
        last_position=tally.last,
        sha256=tally.digest.hexdigest(),
        filters=where.describe(),
        created_at=now.isoformat(),
        public_key=public_text(key),
    )
    return Manifest(**{**asdict(unsigned), "signature": base64.b64encode(key.sign(unsigned.signed_bytes())).decode()})


def _manifest_line(fmt: str, manifest: Manifest) -> bytes:
    document = json.dumps(asdict(manifest), sort_keys=True)
    if fmt == "jsonl":
        return (json.dumps({"manifest": asdict(manifest)}, sort_keys=True) + "\n").encode()
    return CSV_MANIFEST_PREFIX + document.encode() + b"\n"


def verify_export(content: bytes, trusted: Ed25519PublicKey) -> Manifest:
    """Check an export against its manifest and the trusted key; return the manifest, or raise CheckpointError."""
    body, _, last = content.rstrip(b"\n").rpartition(b"\n")
    body = body + b"\n" if body else b""
    manifest = _parse_manifest(last)
    check_signed(manifest, trusted, "manifest")
    if hashlib.sha256(body).hexdigest() != manifest.sha256:
        msg = "the export's rows do not match the manifest's digest: rows were changed, added or removed"
        raise CheckpointError(msg)
    rows = body.count(b"\n") - (1 if manifest.format == "csv" else 0)
    if rows != manifest.count:
        msg = f"the export has {rows} rows, the manifest says {manifest.count}"
        raise CheckpointError(msg)
    return manifest


def _parse_manifest(line: bytes) -> Manifest:
    try:
        if line.startswith(CSV_MANIFEST_PREFIX):
            data = json.loads(line.removeprefix(CSV_MANIFEST_PREFIX))
        else:
            data = json.loads(line)["manifest"]
        return Manifest(**data)
    except (ValueError, KeyError, TypeError):
        msg = "the file does not end with an export manifest"
        raise CheckpointError(msg) from None
