"""Audit figures on a seeded log: verify rate against a raw loop over the same rows and against raw
SHA-256 of the same bytes, export rate, and the cost of as-of for a ticket with 10 and with 10,000 events.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.actors import Actor, ActorKind
from infrastructure.audit.chain import event_bytes
from infrastructure.audit.export import ExportFilter, export_changes
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services

AS_OF_REPEATS = 20
AGENT = Actor("bench", ActorKind.AGENT)


def time_verify(services: Services) -> list[dict[str, Any]]:
    """Verify the whole log; then hash the same bytes (one SHA-256 each) with no I/O, in memory."""
    audit = AuditLog(services.desk)
    started = time.perf_counter()
    result = audit.verify()
    seconds = time.perf_counter() - started
    assert result.ok, result.finding
    material = [event_bytes(n.originator_id, n.originator_version, n.topic, n.state) for n in _all_events(audit)]
    started = time.perf_counter()
    for chunk in material:
        hashlib.sha256(chunk).digest()
    raw = time.perf_counter() - started
    return [
        {
            "name": "audit_verify",
            "events": result.events,
            "seconds": round(seconds, 3),
            "events_per_s": round(result.events / seconds, 1),
        },
        {
            "name": "raw_sha256_same_bytes",
            "events": len(material),
            "seconds": round(raw, 3),
            "events_per_s": round(len(material) / raw, 1),
        },
    ]


def time_raw_verify_loop(services: Services, database_url: str) -> dict[str, Any]:
    """What a verification costs at the least: one streamed query over the events and their chain rows,
    and the two SHA-256 chains recomputed and compared in a plain loop (no paging, no objects)."""
    recorder: Any = services.desk.recorder
    query = (
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, c.stream_hash, "
        f"c.chain_hash FROM {recorder.events_table_name} e JOIN {recorder.chain_table_name} c "
        "USING (notification_id) ORDER BY e.notification_id"
    )
    streams: dict[Any, bytes] = {}
    chain, events = bytes(32), 0
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn, conn.cursor(name="raw_verify") as cursor:
        cursor.itersize = 5000
        cursor.execute(query)
        for position, ident, version, topic, state, stream_hash, chain_hash in cursor:
            stream = hashlib.sha256(streams.get(ident, bytes(32)) + event_bytes(ident, version, topic, state)).digest()
            chain = hashlib.sha256(chain + position.to_bytes(8, "big") + stream).digest()
            if stream != stream_hash or chain != chain_hash:
                raise SystemExit(f"bench: the chain disagrees at position {position}")
            streams[ident] = stream
            events += 1
    seconds = time.perf_counter() - started
    return {
        "name": "raw_verify_loop",
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1),
    }


def time_export(services: Services, tenant: str) -> dict[str, Any]:
    """Export the tenant's whole history (JSON lines) into nothing, counting rows."""
    audit = AuditLog(services.desk)
    where = ExportFilter(tenant)
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    lines = sum(
        1 for _ in export_changes(audit, services.read_models, where, fmt="jsonl", key=key, now=datetime.now(UTC))
    )
    seconds = time.perf_counter() - started
    scanned = services.read_models.position()
    return {
        "name": "audit_export_jsonl",
        "events": scanned,
        "rows": lines - 1,
        "seconds": round(seconds, 3),
        "events_per_s": round(scanned / seconds, 1),
    }


def time_as_of(services: Services) -> dict[str, Any]:
    """As-of (by moment and by version) for a 10-event and a 10,000-event ticket; the long one's cost as a ratio."""
    short = _ticket_with(services, 10)
    long = _ticket_with(services, 10_000)
    figures = {size: _as_of_ms(services, ticket) for size, ticket in (("10", short), ("10000", long))}
    return {
        "name": "as_of_10_vs_10000_events",
        "as_of_ms_10": figures["10"],
        "as_of_ms_10000": figures["10000"],
        "ratio": round(figures["10000"] / figures["10"], 2),
    }


def _ticket_with(services: Services, events: int) -> Any:
    desk = services.desk
    ticket_id = desk.open_ticket(tenant="bench", title="long", requester_id="bob", by=AGENT, via="api").ticket_id
    ticket = desk.get_ticket(ticket_id)
    for n in range(events - 1):
        with desk._acting(AGENT, "api", ticket):
            ticket.add_comment(f"note {n}", public=False)
        if len(ticket.pending_events) >= 500:
            desk.save(ticket)
    desk.save(ticket)
    return ticket_id


def _as_of_ms(services: Services, ticket_id: Any) -> float:
    desk = services.desk
    version = desk.get_ticket(ticket_id).version
    middle = desk._time_of(ticket_id, max(1, version // 2))
    started = time.perf_counter()
    for _ in range(AS_OF_REPEATS):
        desk.ticket_as_of(ticket_id, middle)
    return round((time.perf_counter() - started) / AS_OF_REPEATS * 1000, 2)


def _all_events(audit: AuditLog) -> list[Any]:
    events, after = [], 0
    while page := audit.events(after, 5000):
        events.extend(page)
        after = page[-1].id
    return events
