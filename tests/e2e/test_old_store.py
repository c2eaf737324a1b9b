"""Events stored by earlier code still load: a store written by older code, opened with today's.

`tests/fixtures/old_store/events.sqlite` was written once by `tests/fixtures/old_store/make_store.py`
with the code of its day (every kind of stored event: tickets through every command, SLA calendars
and policies with their versions, SLA warnings, breaches and an escalation, custom fields, saved
views, API key records, an erasure, a ticket snapshot). `golden.json` beside it holds what that
code answered about the store. Each test copies the store to a temporary directory and asks
today's code the same questions (`tests/fixtures/old_store/answers.py`):

- every stored topic still resolves to a class, and every aggregate loads at its stored version;
- every ticket answers as recorded: its state now and at version 1, its history, its SLA figures;
  the ticket loaded from its snapshot equals the one folded from all its events;
- every calendar and policy version, the lists, queues, views and reports answer as recorded once
  `ledgerdesk rebuild tickets` has built the read models from the old events;
- `ledgerdesk audit verify` passes, also against the signed checkpoint taken when the store was
  written, and a new audit export verifies and holds the recorded rows.

How to read a failure: "cannot resolve topic" or a ModuleNotFoundError names an event class that
moved or was renamed; a difference in an answer means old events now fold to something else.
Fix the code, never the fixture: register the old topic with `eventsourcing.utils.register_topic`
(old topic -> the class now), or give the event class a new `class_version` with an `upcast_vN_vM`
for a changed shape. Regenerating the fixture would make the test prove nothing. Only what tells when
an answer was made (`view_position`, `judged_at` of read-model answers) is left out, and SLA figures are
judged at a fixed moment, never at now.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from eventsourcing.utils import resolve_topic
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import TicketPublic
from domain.access.policy import Role
from infrastructure.audit.checkpoint import public_text
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from infrastructure.topics import register_moved_topics
from tests.fixtures.old_store import answers

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "old_store"
GOLDEN: dict[str, Any] = json.loads((FIXTURE / "golden.json").read_text())
PUBLIC_KEY = (FIXTURE / "public_key.txt").read_text().strip()
LEDGERDESK = Path(sys.executable).with_name("ledgerdesk")  # the installed command, as an operator runs it


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A copy of the old store: the tests may write to it (schema step, read models, keys), never to the fixture."""
    copy = tmp_path / "events.sqlite"
    shutil.copyfile(FIXTURE / "events.sqlite", copy)
    return copy


def _settings(store: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{store}", rate_limit="", auth_failure_limit="")


@pytest.fixture
def services(store: Path) -> Iterator[Services]:
    """Today's services over the copy, without a projection worker."""
    built = build_services(_settings(store))
    yield built
    built.close()


def _ledgerdesk(store: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI on the copy; fail with its output unless it succeeds."""
    done = subprocess.run(
        [str(LEDGERDESK), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LEDGERDESK_DATABASE_URL": f"sqlite:///{store}", **env},
    )
    assert done.returncode == 0, f"ledgerdesk {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_the_fixture_is_the_one_recorded(store: Path) -> None:
    """The store still holds what golden.json lists: the same aggregates, topics and snapshot."""
    assert answers.aggregates(store) == GOLDEN["store"]["aggregates"]
    assert answers.topics(store) == GOLDEN["store"]["topics"]
    assert answers.snapshot_count(store) == GOLDEN["store"]["snapshots"] >= 1


@pytest.mark.parametrize("topic", GOLDEN["store"]["topics"])
def test_every_stored_topic_resolves(topic: str) -> None:
    """A topic that no longer names a class makes every aggregate with such an event unreadable."""
    register_moved_topics()  # what every process does before it reads an event (infrastructure/topics.py)
    assert isinstance(resolve_topic(topic), type)


def test_every_aggregate_loads_at_its_stored_version(services: Services) -> None:
    for recorded in GOLDEN["store"]["aggregates"]:
        aggregate_id = UUID(recorded["id"])
        loaded = services.desk.repository.get(aggregate_id)
        assert loaded.version == recorded["version"], recorded
        events = list(services.desk.events.get(aggregate_id))
        assert [e.originator_version for e in events] == list(range(1, recorded["version"] + 1)), recorded


def test_a_ticket_from_its_snapshot_equals_the_fold_of_all_its_events(services: Services) -> None:
    ticket_id = UUID(GOLDEN["tickets"]["long"]["ticket"]["id"])
    from_snapshot = services.desk.get_ticket(ticket_id)
    folded: Any = None
    for event in services.desk.events.get(ticket_id):
        folded = event.mutate(folded)
    assert TicketPublic.from_domain(from_snapshot) == TicketPublic.from_domain(folded)
    assert (
        answers.as_recorded(TicketPublic.from_domain(folded).model_dump(mode="json"))
        == GOLDEN["tickets"]["long"]["ticket"]
    )


def test_the_store_answers_as_recorded_once_its_read_models_are_rebuilt(store: Path) -> None:
    """Tickets, configuration, lists and queues, from read models that `ledgerdesk rebuild` built from the log.

    The fixture holds the event store alone (its read models were in files beside it), so the
    lists can only come from today's projections of the old events.
    """
    assert "rebuilt as generation 2" in _ledgerdesk(store, "rebuild", "tickets").stdout
    services = build_services(_settings(store))
    try:
        services.start_projections()
        head = services.desk.recorder.max_notification_id() or 0
        assert services.read_models.wait_for(head, 30) >= head
        reader = services.keys.create(actor_id="old-store-reader", role=Role.ADMIN, tenant=answers.TENANT)
        headers = {"Authorization": f"Bearer {reader.secret}"}
        with TestClient(create_app(services=services)) as client:
            for name, recorded in GOLDEN["tickets"].items():
                found_now = answers.as_recorded(answers.ticket_answers(client, headers, recorded["ticket"]["id"]))
                assert found_now == recorded, name
            assert answers.config_answers(client, headers) == GOLDEN["config"]
            found = answers.list_answers(client, headers)
            for query, recorded in GOLDEN["lists"].items():
                assert answers.as_recorded(_types_then(found[query], recorded)) == recorded, query
    finally:
        services.close()


def _types_then(found: Any, recorded: Any) -> Any:
    """The privileged report as it would have been recorded: event types made privileged since are left out.

    The list of privileged types grew (workflows, webhooks, mailboxes, rules and schedules joined it);
    it still holds every type it held then, and the old store's rows must be the same.
    """
    if not (isinstance(found, dict) and isinstance(recorded, dict) and "event_types" in recorded):
        return found
    assert set(recorded["event_types"]) <= set(found["event_types"])
    return {**found, "event_types": recorded["event_types"]}


def test_audit_verify_passes_and_matches_the_signed_checkpoint(store: Path) -> None:
    head = GOLDEN["audit"]["head_position"]
    verified = _ledgerdesk(store, "audit", "verify").stdout
    assert verified.strip() == f"OK: {GOLDEN['audit']['events']} events up to position {head} verify"
    checkpoint = str(FIXTURE / "checkpoint.json")
    matched = _ledgerdesk(store, "audit", "verify", "--checkpoint", checkpoint, "--public-key", PUBLIC_KEY).stdout
    assert f"matching the checkpoint at position {head}" in matched


def test_an_audit_export_verifies_and_holds_the_recorded_rows(store: Path, tmp_path: Path) -> None:
    """The export reads the read models: they are rebuilt from the store first."""
    key = Ed25519PrivateKey.generate()  # this test's own: the fixture keeps no signing key
    signing = base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()
    exported = tmp_path / "export.jsonl"
    _ledgerdesk(store, "rebuild", "tickets")
    _ledgerdesk(
        store,
        "audit",
        "export",
        "--tenant",
        answers.TENANT,
        "--out",
        str(exported),
        LEDGERDESK_AUDIT_SIGNING_KEY=signing,
    )
    checked = _ledgerdesk(store, "audit", "verify-export", str(exported), "--public-key", public_text(key)).stdout
    assert checked.startswith(f"OK: {len(GOLDEN['export'])} changes ")
    assert answers.as_recorded(answers.export_rows(exported.read_bytes())) == GOLDEN["export"]
