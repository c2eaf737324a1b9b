"""The audit hash chain: record a real log, tamper with the stored rows in plain SQL, verify.

Every scenario runs on SQLite and PostgreSQL. Tampering goes straight to the tables (sqlite3 on
the SQLite file, psycopg on the PostgreSQL schema), the way someone with database access would
edit them, never through eventsourcing. Each test asserts the finding's kind and its location:
log position, aggregate id and version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg import sql

from domain.actors import Actor, ActorKind
from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.values import FieldKind, FieldValue
from infrastructure.audit.chain import GENESIS, event_bytes, next_chain_hash, next_stream_hash
from infrastructure.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_signature,
    private_key_from_text,
    public_text,
)
from infrastructure.audit.log import AuditLog
from infrastructure.audit.verify import PAGE, Verification
from infrastructure.composition import Services, build_services
from infrastructure.database import Backend, parse_database_url
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

CLI = [sys.executable, "-c", "from api.cli import main; main()"]

AGENT = Actor("carol", ActorKind.AGENT)
REQUESTER = Actor("bob", ActorKind.REQUESTER)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TICKETS = 4
EVENTS_PER_TICKET = 9  # open, assign, comment, pending, priority + tags + field (one save), note, solved


# --- direct access to the stored rows -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One stored event, as the events table holds it."""

    position: int
    aggregate_id: UUID
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True, slots=True)
class Link:
    """One row of the chain table."""

    position: int
    aggregate_id: UUID
    version: int
    stream_hash: bytes
    chain_hash: bytes


class Tables:
    """Plain SQL on the events and chain tables, outside the application."""

    def __init__(self, settings: Settings) -> None:
        database = parse_database_url(settings.database_url)
        self.sqlite = database.backend is Backend.SQLITE
        self.connection: sqlite3.Connection | psycopg.Connection[tuple[Any, ...]]
        if self.sqlite:
            self.connection = sqlite3.connect(database.path, isolation_level=None)  # autocommit
            self.events_table, self.chain_table = "stored_events", "stored_events_chain"
            self.position, self.p = "rowid", "?"
        else:
            self.connection = psycopg.connect(settings.database_url, autocommit=True)
            schema = sql.Identifier(settings.postgres_schema).as_string(self.connection)
            self.events_table, self.chain_table = f"{schema}.helpdesk_events", f"{schema}.helpdesk_events_chain"
            self.position, self.p = "notification_id", "%s"

    def close(self) -> None:
        self.connection.close()

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Execute one statement (`{p}` marks a parameter) and return its rows, if any."""
        cursor: Any = self.connection.cursor()
        try:
            cursor.execute(statement.format(p=self.p), params)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def db_id(self, aggregate_id: UUID) -> str | UUID:
        """An aggregate id as the tables store it (hex text on SQLite, uuid on PostgreSQL)."""
        return aggregate_id.hex if self.sqlite else aggregate_id

    # reading

    def events(self) -> list[Row]:
        rows = self.run(
            f"SELECT {self.position}, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} ORDER BY {self.position}"
        )
        return [Row(p, UUID(str(a)), v, t, bytes(s)) for p, a, v, t, s in rows]

    def links(self) -> list[Link]:
        rows = self.run(
            "SELECT notification_id, originator_id, originator_version, stream_hash, chain_hash "
            f"FROM {self.chain_table} ORDER BY notification_id"
        )
        return [Link(p, UUID(str(a)), v, bytes(s), bytes(c)) for p, a, v, s, c in rows]

    def event(self, aggregate_id: UUID, version: int) -> Row:
        (found,) = [r for r in self.events() if (r.aggregate_id, r.version) == (aggregate_id, version)]
        return found

    def head(self) -> int:
        return self.events()[-1].position

    # tampering with events

    def set_payload(self, position: int, *, topic: str, state: bytes) -> None:
        self.run(
            f"UPDATE {self.events_table} SET topic = {{p}}, state = {{p}} WHERE {self.position} = {{p}}",
            topic,
            state,
            position,
        )

    def set_version(self, position: int, version: int) -> None:
        self.run(
            f"UPDATE {self.events_table} SET originator_version = {{p}} WHERE {self.position} = {{p}}",
            version,
            position,
        )

    def delete_event(self, position: int) -> None:
        self.run(f"DELETE FROM {self.events_table} WHERE {self.position} = {{p}}", position)

    def insert_event(self, position: int, aggregate_id: UUID, version: int, topic: str, state: bytes) -> None:
        self.run(
            f"INSERT INTO {self.events_table} ({self.position}, originator_id, originator_version, topic, state) "
            "VALUES ({p}, {p}, {p}, {p}, {p})",
            position,
            self.db_id(aggregate_id),
            version,
            topic,
            state,
        )

    def replace_in_state(self, position: int, old: str, new: str) -> None:
        """Edit a payload with the database's own string functions, as one would at an SQL prompt."""
        if self.sqlite:
            expression = "replace(state, {p}, {p})"
        else:
            expression = "convert_to(replace(convert_from(state, 'UTF8'), {p}, {p}), 'UTF8')"
        self.run(
            f"UPDATE {self.events_table} SET state = {expression} WHERE {self.position} = {{p}}", old, new, position
        )

    # tampering with the chain

    def delete_link(self, position: int) -> None:
        self.run(f"DELETE FROM {self.chain_table} WHERE notification_id = {{p}}", position)

    def set_link(self, position: int, *, stream_hash: bytes, chain_hash: bytes) -> None:
        self.run(
            f"UPDATE {self.chain_table} SET stream_hash = {{p}}, chain_hash = {{p}} WHERE notification_id = {{p}}",
            stream_hash,
            chain_hash,
            position,
        )

    def rewrite_chain(self) -> None:
        """Recompute every chain row from the events as they now are, with the published algorithm."""
        chain = GENESIS
        streams: dict[UUID, bytes] = {}
        for row in self.events():
            material = event_bytes(row.aggregate_id, row.version, row.topic, row.state)
            stream = next_stream_hash(streams.get(row.aggregate_id, GENESIS), material)
            chain = next_chain_hash(chain, row.position, stream)
            streams[row.aggregate_id] = stream
            self.set_link(row.position, stream_hash=stream, chain_hash=chain)


def flip_byte(state: bytes, index: int, mask: int = 0x01) -> bytes:
    changed = bytearray(state)
    changed[index] ^= mask
    return bytes(changed)


# --- a realistic log ------------------------------------------------------------------------------


def record_log(desk: HelpDesk, tickets: int = TICKETS) -> list[UUID]:
    """Several tickets, each with several events, interleaved in the log as a busy desk records them."""
    ids = [
        desk.open_ticket(
            tenant="acme",
            title=f"Printer on floor {n} is jammed",
            description="It shows error 0x42 and will not print.",
            requester_id="bob",
            tags=["printer"],
            by=REQUESTER,
            via="email",
        ).ticket_id
        for n in range(tickets)
    ]
    for ticket in ids:
        desk.assign(ticket, assignee="carol", group="hardware", by=AGENT, via="web")
    for ticket in ids:
        desk.add_comment(ticket, "Have you tried switching it off and on?", public=True, by=AGENT, via="web")
    for ticket in ids:
        desk.transition(ticket, "pending", by=AGENT, via="web")
    for n, ticket in enumerate(ids):
        desk.update_ticket(
            ticket,
            priority="high",
            add_tags=["vip"],
            custom_fields={"seats": FieldValue(FieldKind.NUMBER, 10 + n)},
            by=AGENT,
            via="web",
        )
    for ticket in ids:
        desk.add_comment(ticket, "Replaced the fuser unit.", public=False, by=AGENT, via="web")
        desk.transition(ticket, "solved", by=AGENT, via="web")
    return ids


@pytest.fixture
def tables(sql_settings: Settings) -> Iterator[Tables]:
    opened = Tables(sql_settings)
    yield opened
    opened.close()


@pytest.fixture
def tickets(sql_services: Services) -> list[UUID]:
    return record_log(sql_services.desk)


def verify(services: Services, checkpoint: Checkpoint | None = None) -> Verification:
    return AuditLog(services.desk).verify(checkpoint=checkpoint)


def location(result: Verification) -> tuple[str, int, str, int]:
    assert result.finding is not None, f"expected a finding, got {result}"
    assert not result.ok
    found = result.finding
    return found.kind, found.position, found.aggregate_id, found.version


def verified_before(tables: Tables, position: int) -> int:
    """How many events precede `position`: the walk confirms those before reporting."""
    return sum(1 for row in tables.events() if row.position < position)


# --- an untouched log -----------------------------------------------------------------------------


def test_an_untouched_log_verifies(sql_services: Services, tickets: list[UUID], tables: Tables) -> None:
    rows, links = tables.events(), tables.links()
    assert len(rows) == TICKETS * EVENTS_PER_TICKET
    assert [(r.position, r.aggregate_id, r.version) for r in rows] == [
        (k.position, k.aggregate_id, k.version) for k in links
    ]
    seen: list[tuple[int, int]] = []

    result = AuditLog(sql_services.desk).verify(progress=lambda at, head: seen.append((at, head)))

    assert result.ok
    assert result.finding is None
    assert result.events == len(rows)
    assert result.head_position == rows[-1].position == sql_services.desk.recorder.max_notification_id()
    assert result.head_hash == links[-1].chain_hash.hex()
    assert seen[-1] == (rows[-1].position, rows[-1].position)


# --- tampering with events ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["first byte", "middle byte", "last byte"])
def test_a_flipped_byte_of_a_payload_is_changed_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables, where: str
) -> None:
    victim = tables.event(tickets[1], 5)  # the priority change
    index = {"first byte": 0, "middle byte": len(victim.state) // 2, "last byte": -1}[where]
    tables.set_payload(victim.position, topic=victim.topic, state=flip_byte(victim.state, index))

    result = verify(sql_services)

    assert location(result) == ("changed", victim.position, str(tickets[1]), 5)
    assert result.events == verified_before(tables, victim.position)


def test_a_changed_topic_is_changed_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    victim = tables.event(tickets[2], 8)  # an internal note, made to look like a public reply's event
    tables.set_payload(victim.position, topic=victim.topic + "X", state=victim.state)

    assert location(verify(sql_services)) == ("changed", victim.position, str(tickets[2]), 8)


def test_a_payload_edited_with_sql_string_functions_is_changed_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    # The most natural edit at an SQL prompt: replace() on the payload. On SQLite the result is
    # stored as TEXT rather than BLOB; verification must still report it, not fail on the type.
    victim = tables.event(tickets[0], 5)
    assert b'"new_priority":"high"' in victim.state
    tables.replace_in_state(victim.position, '"new_priority":"high"', '"new_priority":"low"')

    assert location(verify(sql_services)) == ("changed", victim.position, str(tickets[0]), 5)


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_deleted_event_is_deleted_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables, which: str
) -> None:
    rows = tables.events()
    victim = {"first": rows[0], "middle": tables.event(tickets[3], 4), "last": rows[-1]}[which]
    tables.delete_event(victim.position)

    result = verify(sql_services)

    assert location(result) == ("deleted", victim.position, str(victim.aggregate_id), victim.version)
    assert result.events == verified_before(tables, victim.position)


def test_swapped_payloads_of_two_versions_are_changed_at_the_first(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    second, third = tables.event(tickets[1], 2), tables.event(tickets[1], 3)
    assert second.position < third.position
    tables.set_payload(second.position, topic=third.topic, state=third.state)
    tables.set_payload(third.position, topic=second.topic, state=second.state)

    # `changed`: the positions still hold versions 2 and 3 of the ticket, as the chain recorded,
    # so the sequence checks pass; but version 2 now carries version 3's bytes, and its
    # recomputed stream hash differs from the one recorded at the first of the two positions.
    assert location(verify(sql_services)) == ("changed", second.position, str(tickets[1]), 2)


def test_swapped_version_numbers_are_reordered_at_the_first(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    second, third = tables.event(tickets[1], 2), tables.event(tickets[1], 3)
    tables.set_version(second.position, -1)  # (aggregate, version) is unique: swap through a spare number
    tables.set_version(third.position, 2)
    tables.set_version(second.position, 3)

    # `reordered`: the event at the first position now claims version 3, but the chain recorded
    # version 2 there; the identity check comes before any hashing. The finding names the event
    # as it is stored now (version 3).
    assert location(verify(sql_services)) == ("reordered", second.position, str(tickets[1]), 3)


def test_a_forged_event_is_inserted_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    model = tables.event(tickets[3], 3)  # another ticket's public reply
    forged_at = tables.head() + 1
    tables.insert_event(forged_at, tickets[0], EVENTS_PER_TICKET + 1, model.topic, model.state)
    assert sql_services.desk.get_ticket(tickets[0]).version == EVENTS_PER_TICKET + 1  # the app believes it

    result = verify(sql_services)

    assert location(result) == ("inserted", forged_at, str(tickets[0]), EVENTS_PER_TICKET + 1)
    assert result.events == TICKETS * EVENTS_PER_TICKET


# --- rewriting the chain --------------------------------------------------------------------------


def test_a_rewritten_chain_passes_plain_verify_but_not_a_signed_checkpoint(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = AuditLog(sql_services.desk).checkpoint(key, NOW)
    assert checkpoint.position == tables.head()
    check_signature(checkpoint, key.public_key())
    record_log(sql_services.desk, tickets=1)  # the log grows after the checkpoint
    assert checkpoint.position < tables.head()
    assert verify(sql_services, checkpoint).ok

    victim = tables.event(tickets[2], 5)
    tables.set_payload(victim.position, topic=victim.topic, state=victim.state.replace(b'"high"', b'"low"'))
    assert location(verify(sql_services)) == ("changed", victim.position, str(tickets[2]), 5)
    tables.rewrite_chain()  # the attacker knows the algorithm and rewrites every hash

    assert verify(sql_services).ok
    result = verify(sql_services, checkpoint)
    at_checkpoint = next(r for r in tables.events() if r.position == checkpoint.position)
    assert location(result) == (
        "checkpoint",
        checkpoint.position,
        str(at_checkpoint.aggregate_id),
        at_checkpoint.version,
    )


def test_a_log_cut_back_before_a_signed_checkpoint_fails_the_checkpoint(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    checkpoint = AuditLog(sql_services.desk).checkpoint(Ed25519PrivateKey.generate(), NOW)
    for row in tables.events()[-3:]:  # the last three events and their chain rows vanish
        tables.delete_event(row.position)
        tables.delete_link(row.position)

    assert verify(sql_services).ok  # the remaining prefix is consistent
    kind, position, _, _ = location(verify(sql_services, checkpoint))
    assert (kind, position) == ("checkpoint", checkpoint.position)


def test_a_checkpoint_of_the_empty_log_verifies(sql_services: Services, tables: Tables) -> None:
    # `AuditLog.checkpoint` signs position 0 for an empty log; the empty prefix of any log matches it.
    checkpoint = AuditLog(sql_services.desk).checkpoint(Ed25519PrivateKey.generate(), NOW)
    assert (checkpoint.position, checkpoint.chain_hash) == (0, GENESIS.hex())

    assert verify(sql_services, checkpoint).finding is None
    record_log(sql_services.desk, tickets=1)
    assert verify(sql_services, checkpoint).finding is None


def test_a_deleted_chain_row_reads_as_an_inserted_event(
    sql_services: Services, tickets: list[UUID], tables: Tables
) -> None:
    victim = tables.event(tickets[2], 6)
    tables.delete_link(victim.position)

    assert location(verify(sql_services)) == ("inserted", victim.position, str(tickets[2]), 6)


@pytest.mark.parametrize("column", ["chain_hash", "stream_hash"])
def test_an_altered_chain_row_is_changed_at_its_position(
    sql_services: Services, tickets: list[UUID], tables: Tables, column: str
) -> None:
    victim = tables.event(tickets[0], 7)
    (link,) = [k for k in tables.links() if k.position == victim.position]
    hashes = {"stream_hash": link.stream_hash, "chain_hash": link.chain_hash}
    hashes[column] = flip_byte(hashes[column], 31)
    tables.set_link(victim.position, **hashes)

    result = verify(sql_services)

    assert location(result) == ("changed", victim.position, str(tickets[0]), 7)
    assert result.finding is not None
    if column == "chain_hash":
        assert result.finding.detail == "the chain row was altered"


# --- checkpoint signatures ------------------------------------------------------------------------


def test_an_edited_or_foreign_checkpoint_fails_its_signature_check(sql_services: Services, tickets: list[UUID]) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    audit = AuditLog(sql_services.desk)
    checkpoint = audit.checkpoint(key, NOW)
    check_signature(checkpoint, key.public_key())
    check_signature(Checkpoint.from_json(checkpoint.to_json()), key.public_key())

    edits = [
        dataclasses.replace(checkpoint, position=checkpoint.position - 1),
        dataclasses.replace(checkpoint, position=checkpoint.position + 1),
        dataclasses.replace(checkpoint, chain_hash=flip_byte(bytes.fromhex(checkpoint.chain_hash), 0).hex()),
        dataclasses.replace(checkpoint, created_at="2030-01-01T00:00:00+00:00"),
        dataclasses.replace(checkpoint, signature="not a signature"),
    ]
    for edited in edits:
        with pytest.raises(CheckpointError, match="altered or forged"):
            check_signature(edited, key.public_key())

    foreign = audit.checkpoint(other, NOW)
    with pytest.raises(CheckpointError, match="another key"):
        check_signature(foreign, key.public_key())
    # Claiming the trusted key while signing with another does not help either.
    claimed = dataclasses.replace(foreign, public_key=public_text(key))
    with pytest.raises(CheckpointError, match="altered or forged"):
        check_signature(claimed, key.public_key())


# --- several pages --------------------------------------------------------------------------------


def test_a_log_longer_than_a_page_is_walked_to_the_end(sql_services: Services, tables: Tables) -> None:
    desk = sql_services.desk
    fields = [f"field-{n}" for n in range(50)]
    ticket = desk.open_ticket(tenant="acme", title="Inventory", requester_id="bob", by=REQUESTER, via="api").ticket_id
    for round_ in range(PAGE // len(fields) + 1):  # 50 events per save, one per field
        values = {name: FieldValue(FieldKind.NUMBER, round_) for name in fields}
        desk.update_ticket(ticket, custom_fields=values, by=AGENT, via="api")
    rows = tables.events()
    assert len(rows) > PAGE + 1
    seen: list[tuple[int, int]] = []
    result = AuditLog(desk).verify(progress=lambda at, head: seen.append((at, head)))
    assert (result.ok, result.events, result.head_position) == (True, len(rows), rows[-1].position)
    assert seen == [(rows[PAGE - 1].position, rows[-1].position), (rows[-1].position, rows[-1].position)]

    victim = rows[PAGE]  # the first event of the second page
    tables.set_payload(victim.position, topic=victim.topic, state=flip_byte(victim.state, -2))

    result = verify(sql_services)
    assert location(result) == ("changed", victim.position, str(ticket), victim.version)
    assert result.events == PAGE


# --- the command line -----------------------------------------------------------------------------


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], check=False, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_cli_checkpoint_then_verify_then_tampering(
    sql_settings: Settings, sql_services: Services, tickets: list[UUID], tables: Tables, tmp_path: Path
) -> None:
    keygen = _run("audit", "keygen", env={})
    assert keygen.returncode == 0, keygen.stderr
    (signing_key,) = keygen.stdout.splitlines()  # the secret alone on stdout; labels and hints on stderr
    assert keygen.stderr.splitlines()[0] == f"public key: {public_text(private_key_from_text(signing_key))}"
    env = {
        "LEDGERDESK_DATABASE_URL": sql_settings.database_url,
        "LEDGERDESK_POSTGRES_SCHEMA": sql_settings.postgres_schema,
        "LEDGERDESK_AUDIT_SIGNING_KEY": signing_key,
    }
    head = tables.head()
    saved = tmp_path / "checkpoint.json"

    done = _run("audit", "checkpoint", "--out", str(saved), env=env)
    assert done.returncode == 0, done.stderr
    checkpoint = Checkpoint.from_json(saved.read_text())
    assert checkpoint.position == head
    check_signature(checkpoint, private_key_from_text(signing_key).public_key())

    done = _run("audit", "verify", "--checkpoint", str(saved), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    ok = [line for line in done.stdout.splitlines() if line.startswith("OK:")]
    assert ok == [f"OK: {head} events up to position {head} verify, matching the checkpoint at position {head}"]

    victim = tables.event(tickets[3], 3)
    tables.set_payload(victim.position, topic=victim.topic, state=flip_byte(victim.state, 10))
    done = _run("audit", "verify", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    tampered = [line for line in done.stdout.splitlines() if line.startswith("TAMPERED:")]
    assert len(tampered) == 1
    assert tampered[0].startswith(
        f"TAMPERED: changed at position {victim.position} (aggregate {tickets[3]} version 3): "
    )

    other = public_text(Ed25519PrivateKey.generate())
    done = _run("audit", "verify", "--checkpoint", str(saved), "--public-key", other, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("ledgerdesk: error: the checkpoint was signed with another key")


# --- properties -----------------------------------------------------------------------------------

STATUSES = ["open", "pending", "on_hold", "solved", "closed"]
COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.sampled_from(["low", "normal", "high", "urgent"])),
        st.tuples(st.just("assign"), st.integers(0, 5), st.sampled_from(["carol", "dave", "erin.k"])),
        st.tuples(
            st.just("comment"), st.integers(0, 5), st.text("abc xyz!é\n", min_size=1, max_size=40), st.booleans()
        ),
        st.tuples(st.just("transition"), st.integers(0, 5), st.sampled_from(STATUSES)),
        st.tuples(
            st.just("update"),
            st.integers(0, 5),
            st.sampled_from(["low", "normal", "high", "urgent"]),
            st.lists(st.sampled_from(["printer", "vip", "floor-3"]), max_size=3),
        ),
    ),
    max_size=15,
)


def _apply(desk: HelpDesk, ids: list[UUID], command: tuple[Any, ...]) -> None:
    name, *args = command
    if name == "open":
        ids.append(
            desk.open_ticket(
                tenant="acme", title="t", requester_id="bob", priority=args[0], by=REQUESTER, via="web"
            ).ticket_id
        )
        return
    ticket = ids[args[0] % len(ids)]
    if name == "assign":
        desk.assign(ticket, assignee=args[1], by=AGENT, via="web")
    elif name == "comment":
        desk.add_comment(ticket, args[1], public=args[2], by=AGENT, via="web")
    elif name == "transition":
        desk.transition(ticket, args[1], by=AGENT, via="web")
    else:
        desk.update_ticket(ticket, priority=args[1], add_tags=args[2], by=AGENT, via="web")


@hypothesis_settings(max_examples=20, deadline=None)
@given(commands=COMMANDS, data=st.data())
def test_any_log_verifies_and_any_flipped_byte_is_found(commands: list[tuple[Any, ...]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{Path(directory) / 'ledgerdesk.sqlite'}")
        services = build_services(settings, clock=TickingClock())
        tables = Tables(settings)
        try:
            ids: list[UUID] = []
            for command in [("open", "normal"), *commands]:
                with contextlib.suppress(DomainError):  # refused commands record nothing
                    _apply(services.desk, ids, command)
            rows = tables.events()

            result = verify(services)
            assert result.ok
            assert (result.events, result.head_position) == (len(rows), rows[-1].position)

            victim = data.draw(st.sampled_from(rows), label="event")
            index = data.draw(st.integers(0, len(victim.state) - 1), label="byte")
            mask = data.draw(st.integers(1, 255), label="xor mask")
            tables.set_payload(victim.position, topic=victim.topic, state=flip_byte(victim.state, index, mask))

            result = verify(services)
            assert location(result) == ("changed", victim.position, str(victim.aggregate_id), victim.version)
            assert result.events == victim.position - 1
        finally:
            tables.close()
            services.close()
