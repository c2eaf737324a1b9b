"""`ledgerdesk backup` and `ledgerdesk restore`, run as processes against real SQLite and PostgreSQL stores.

A backup taken while another thread keeps opening tickets restores to the same events and the
same chain head, on each store, from SQLite into PostgreSQL and back; a damaged or truncated file is
named and leaves the target empty; a non-empty target is refused; a person erased after the
backup stays erased in the restored desk.
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.values import ERASED
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services, build_services
from infrastructure.privacy.register import RegisterError
from infrastructure.settings import Settings
from tests.support.processes import cli_env, run_cli

AGENT = Actor("alice", ActorKind.AGENT, role="agent")
BOB = Actor("bob", ActorKind.REQUESTER, role="customer")


@pytest.fixture
def sqlite_target(tmp_path: Path) -> Settings:
    """A second, empty SQLite file to restore into."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'restored.sqlite'}", blob_dir=str(tmp_path / "blobs2"))


@pytest.fixture
def postgres_target(postgres_database: str, tmp_path: Path) -> Iterator[Settings]:
    """A second, empty PostgreSQL schema to restore into."""
    schema = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield Settings(database_url=postgres_database, postgres_schema=schema, blob_dir=str(tmp_path / "blobs2"))
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _env(settings: Settings, register: Path | None = None) -> dict[str, str]:
    env = cli_env(settings)
    env["LEDGERDESK_ERASURE_REGISTER"] = str(register) if register else ""
    return env


def _open(services: Services, title: str, requester: str = "bob") -> uuid.UUID:
    return services.desk.open_ticket(tenant="acme", title=title, requester_id=requester, by=AGENT, via="web").ticket_id


def _log(settings: Settings, up_to: int | None = None) -> list[tuple[Any, ...]]:
    """Every stored event as (position, id, version, topic, bytes), and the chain's head."""
    services = build_services(settings)
    try:
        audit = AuditLog(services.desk)
        events = [
            (n.id, uuid.UUID(str(n.originator_id)), n.originator_version, n.topic, bytes(n.state))
            for n in audit.events(0, 1_000_000)
        ]
    finally:
        services.close()
    return [e for e in events if up_to is None or e[0] <= up_to]


def _chain_head(settings: Settings) -> tuple[int, str]:
    services = build_services(settings)
    try:
        head = AuditLog(services.desk).head()
    finally:
        services.close()
    return (0, "") if head is None else (head.position, head.chain_hash.hex())


def _manifest_head(path: Path) -> tuple[int, str]:
    last = gzip.decompress(path.read_bytes()).splitlines()[-1]
    manifest = json.loads(last)["manifest"]
    return manifest["head_position"], manifest["head_chain_hash"]


class _Writer(threading.Thread):
    """Opens tickets (and comments on them) until told to stop."""

    def __init__(self, services: Services) -> None:
        super().__init__(daemon=True)
        self.services = services
        self.stopping = threading.Event()
        self.written = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            ticket = _open(self.services, f"under load {self.written}")
            self.services.desk.add_comment(ticket, "and a comment", public=True, by=AGENT, via="web")
            self.written += 1


PASSWORD = secrets.token_urlsafe(16)


def _backup_under_load(source: Settings, path: Path) -> tuple[int, str]:
    """Seed (and let an agent in), then back up while a thread writes; the source's head afterwards, and a key."""
    services = build_services(source)
    try:
        issued = services.issue_key(actor_id="alice", role=Role.AGENT, tenant="acme", by=AGENT, via="cli")
        services.create_user(
            email="ann@acme.example",
            password=PASSWORD,
            actor_id="ann",
            role=Role.AGENT,
            tenant="acme",
            by=AGENT,
            via="cli",
        )
        for n in range(300):
            _open(services, f"seeded {n}")
        writer = _Writer(services)
        writer.start()
        try:
            done = run_cli("backup", str(path), env=_env(source), timeout=120)
        finally:
            writer.stopping.set()
            writer.join()
        assert done.returncode == 0, done.stderr
        assert writer.written > 0
        return services.desk.recorder.max_notification_id() or 0, issued.secret
    finally:
        services.close()


@pytest.mark.parametrize(
    ("source_fixture", "target_fixture"),
    [
        ("sqlite_settings", "sqlite_target"),
        ("postgres_settings", "postgres_target"),
        ("sqlite_settings", "postgres_target"),
        ("postgres_settings", "sqlite_target"),
    ],
    ids=["sqlite", "postgres", "sqlite-to-postgres", "postgres-to-sqlite"],
)
def test_a_backup_under_write_load_restores_the_same_history(
    request: pytest.FixtureRequest, source_fixture: str, target_fixture: str, tmp_path: Path
) -> None:
    source: Settings = request.getfixturevalue(source_fixture)
    target: Settings = request.getfixturevalue(target_fixture)
    path = tmp_path / "desk.backup"
    head_after, api_key = _backup_under_load(source, path)
    position, chain_hash = _manifest_head(path)
    assert 300 <= position < head_after  # tickets were still being written after the snapshot

    done = run_cli("restore", str(path), env=_env(target), timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"up to position {position}" in done.stdout

    restored = _log(target)
    assert restored == _log(source, up_to=position)
    assert _chain_head(target) == (position, chain_hash)
    services = build_services(target)
    try:  # the read models were rebuilt from the restored log, and the desk takes new tickets after it
        assert services.read_models.position() == position
        new = _open(services, "after the restore")
        assert services.desk.get_ticket(new).title == "after the restore"
        assert (services.desk.recorder.max_notification_id() or 0) > position
        assert AuditLog(services.desk).verify().ok
        principal = services.keys.authenticate(api_key)  # who could come in still can
        assert principal is not None
        assert principal.actor.id == "alice"
        assert services.users.check_password("ann@acme.example", PASSWORD) is not None
    finally:
        services.close()


@pytest.fixture
def small_backup(sqlite_settings: Settings, tmp_path: Path) -> Path:
    services = build_services(sqlite_settings)
    try:
        for n in range(50):
            _open(services, f"ticket {n}")
    finally:
        services.close()
    path = tmp_path / "small.backup"
    done = run_cli("backup", str(path), env=_env(sqlite_settings))
    assert done.returncode == 0, done.stderr
    assert not path.with_name("small.backup.partial").exists()
    return path


def _restore_fails(path: Path, target: Settings) -> str:
    done = run_cli("restore", str(path), env=_env(target))
    assert done.returncode != 0
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("ledgerdesk: error: "), done.stderr
    assert _log(target) == []  # nothing half-restored
    return line


def test_a_truncated_backup_is_named_and_nothing_is_restored(small_backup: Path, sqlite_target: Settings) -> None:
    whole = small_backup.read_bytes()
    small_backup.write_bytes(whole[: len(whole) // 2])
    assert "the backup is truncated" in _restore_fails(small_backup, sqlite_target)

    lines = gzip.decompress(whole).splitlines(keepends=True)
    small_backup.write_bytes(gzip.compress(b"".join(lines[:-1])))  # a whole gzip stream, its manifest cut off
    line = _restore_fails(small_backup, sqlite_target)
    assert "the backup is truncated: it ends at line" in line
    assert "before its manifest" in line


def test_a_damaged_backup_is_named_by_section_and_line(small_backup: Path, postgres_target: Settings) -> None:
    lines = gzip.decompress(small_backup.read_bytes()).splitlines(keepends=True)
    row = lines[10]  # a row of the events section (the header and the section's first line come before it)
    assert row.startswith(b"[")
    lines[10] = row.replace(b"ticket", b"tickeT", 1) if b"ticket" in row else row[:-3] + b"x" + row[-2:]
    small_backup.write_bytes(gzip.compress(b"".join(lines)))
    line = _restore_fails(small_backup, postgres_target)
    assert "the backup is damaged at line" in line
    assert "in section events" in line
    assert "nothing was restored" in line

    compressed = bytearray(gzip.compress(b"".join(lines)))
    compressed[len(compressed) // 2] ^= 0xFF  # one flipped byte in the compressed stream
    small_backup.write_bytes(bytes(compressed))
    assert "the backup is damaged" in _restore_fails(small_backup, postgres_target)


def test_a_database_that_holds_events_is_refused(small_backup: Path, sqlite_target: Settings) -> None:
    first = run_cli("restore", str(small_backup), env=_env(sqlite_target))
    assert first.returncode == 0, first.stderr
    again = run_cli("restore", str(small_backup), env=_env(sqlite_target))
    assert again.returncode != 0
    assert again.stderr.strip().splitlines()[-1].endswith("restore only into an empty database")
    assert "is not empty (it holds 50 events" in again.stderr


@pytest.mark.parametrize("target_fixture", ["sqlite_target", "postgres_target"])
def test_a_person_erased_after_the_backup_stays_erased_after_the_restore(
    request: pytest.FixtureRequest, sql_settings: Settings, target_fixture: str, tmp_path: Path
) -> None:
    target: Settings = request.getfixturevalue(target_fixture)
    register = tmp_path / "erasures.jsonl"
    source = sql_settings.model_copy(update={"erasure_register": str(register)})
    path = tmp_path / "before-erasure.backup"
    services = build_services(source)
    try:
        services.start_projections()
        bobs = _open(services, "Bob's stolen laptop")
        carols = _open(services, "Carol's printer", requester="carol")
        done = run_cli("backup", str(path), env=_env(source))
        assert done.returncode == 0, done.stderr
        services.eraser().erase(tenant="acme", person_id="bob", by=AGENT, via="cli")
        assert services.desk.get_ticket(bobs).title == ERASED
    finally:
        services.close()
    assert '"person_id": "bob"' in register.read_text()

    done = run_cli("restore", str(path), env=_env(target, register))
    assert done.returncode == 0, done.stderr
    assert "1 data key of erased people destroyed again" in done.stdout
    restored = build_services(target)
    try:
        assert restored.desk.get_ticket(bobs).title == ERASED
        assert restored.desk.get_ticket(carols).title == "Carol's printer"
        row = restored.read_models.tickets().get_ticket("acme", bobs)
        assert row is not None
        assert row.title == ERASED
        assert AuditLog(restored.desk).verify().ok  # the stored bytes, and so the chain, are untouched
        _open(restored, "Bob writes again")  # a new key for bob, made after the erasure, is kept
    finally:
        restored.close()


def test_without_the_register_the_restore_says_erasures_are_not_applied_again(
    small_backup: Path, sqlite_target: Settings
) -> None:
    done = run_cli("restore", str(small_backup), env=_env(sqlite_target))
    assert done.returncode == 0, done.stderr
    assert "LEDGERDESK_ERASURE_REGISTER is not set" in done.stderr


def test_an_erasure_that_cannot_be_put_on_record_destroys_nothing(sqlite_settings: Settings, tmp_path: Path) -> None:
    unwritable = tmp_path / "a-directory"
    unwritable.mkdir()
    services = build_services(sqlite_settings.model_copy(update={"erasure_register": str(unwritable)}))
    try:
        services.start_projections()
        bobs = _open(services, "Bob's stolen laptop")
        with pytest.raises(RegisterError, match="cannot write the erasure register"):
            services.eraser().erase(tenant="acme", person_id="bob", by=AGENT, via="cli")
        assert services.desk.get_ticket(bobs).title == "Bob's stolen laptop"  # the key is still there
    finally:
        services.close()


def test_the_erasure_endpoint_answers_503_when_the_register_cannot_be_written(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    unwritable = tmp_path / "a-directory"
    unwritable.mkdir()
    services = build_services(sqlite_settings.model_copy(update={"erasure_register": str(unwritable)}))
    try:
        services.start_projections()
        bobs = _open(services, "Bob's stolen laptop")
        key = services.keys.create(actor_id="root-admin", role=Role.ADMIN, tenant="acme").secret
        with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as client:
            answer = client.post("/privacy/erasures", json={"person_id": "bob"})
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith("erasure-register-unavailable")
        assert services.desk.get_ticket(bobs).title == "Bob's stolen laptop"
    finally:
        services.close()
