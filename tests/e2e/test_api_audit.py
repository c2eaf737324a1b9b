"""Audit endpoints through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from api.app import create_app
from domain.access.policy import Role
from infrastructure.audit.checkpoint import CheckpointError
from infrastructure.audit.export import verify_export
from infrastructure.composition import Services, build_services
from infrastructure.database import Backend
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

SIGNING_KEY = Ed25519PrivateKey.generate()


def _text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


@pytest.fixture
def services(sql_settings: Settings) -> Iterator[Services]:
    configured = sql_settings.model_copy(update={"audit_signing_key": SecretStr(_text(SIGNING_KEY))})
    built = build_services(configured, clock=TickingClock())
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def agent(services: Services) -> Iterator[TestClient]:
    key = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


@pytest.fixture
def auditor(services: Services) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {services.keys.create(actor_id='audrey', role=Role.AUDITOR, tenant='acme').secret}"
    }


def _record(agent: TestClient) -> tuple[list[str], int]:
    ids, position = [], 0
    for n, organisation in enumerate(["north", "south", "north"]):
        ticket = agent.post("/tickets", json={"title": f"t{n}", "requester_id": "bob", "organisation": organisation})
        ids.append(ticket.json()["id"])
        done = agent.post(f"/tickets/{ids[-1]}/assignment", json={"assignee": "carol"})
        position = int(done.headers["ledgerdesk-position"])
    agent.get("/queues/unassigned", params={"min_position": position})  # read models caught up
    return ids, position


def _tamper(services: Services, position: int) -> None:
    if services.database.backend is Backend.SQLITE:
        with sqlite3.connect(services.database.path) as db:
            db.execute("UPDATE stored_events SET state = zeroblob(8) WHERE rowid = ?", (position,))
        return
    schema = services.settings.postgres_schema
    with psycopg.connect(**services.database.connect_kwargs(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            sql.SQL("UPDATE {}.helpdesk_events SET state = %s WHERE notification_id = %s").format(
                sql.Identifier(schema)
            ),
            (b"\x00" * 8, position),
        )


def test_only_auditors_and_admins_may_audit(agent: TestClient, services: Services, auditor: dict[str, str]) -> None:
    for path in ("/audit/verify", "/audit/export"):
        forbidden = agent.get(path)
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"] == "application/problem+json"
    admin = services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    assert agent.get("/audit/verify", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    assert agent.get("/audit/verify", headers=auditor).status_code == 200


def test_verify_names_the_tampered_event(agent: TestClient, services: Services, auditor: dict[str, str]) -> None:
    ids, head = _record(agent)
    clean = agent.get("/audit/verify", headers=auditor).json()
    assert (clean["ok"], clean["events"], clean["head_position"]) == (True, head, head)

    _tamper(services, 4)
    found = agent.get("/audit/verify", headers=auditor).json()
    assert found["ok"] is False
    assert found["finding"] | {"detail": ""} == {
        "kind": "changed",
        "position": 4,
        "aggregate_id": ids[1],
        "version": 2,
        "detail": "",
    }
    lines = [
        json.loads(line)
        for line in agent.get("/audit/verify", params={"stream": True}, headers=auditor).text.splitlines()
    ]
    assert lines[-1]["result"]["finding"]["position"] == 4


def test_exports_are_signed_and_filtered(agent: TestClient, auditor: dict[str, str]) -> None:
    ids, _ = _record(agent)
    everything = agent.get("/audit/export", headers=auditor)
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/x-ndjson")
    manifest = verify_export(everything.content, SIGNING_KEY.public_key())
    assert (manifest.count, manifest.first_position, manifest.last_position) == (6, 1, 6)
    rows: list[dict[str, Any]] = [json.loads(line) for line in everything.content.splitlines()[:-1]]
    assert [r["event"] for r in rows[:2]] == ["Opened", "Assigned"]
    assert rows[1]["changes"] == [{"field": "assignee", "old": None, "new": "carol"}]
    assert all(len(r["chain_hash"]) == 64 for r in rows)

    north = agent.get("/audit/export", params={"organisation": "north", "format": "csv"}, headers=auditor)
    assert north.headers["content-type"].startswith("text/csv")
    assert verify_export(north.content, SIGNING_KEY.public_key()).count == 4
    one = agent.get("/audit/export", params={"ticket": ids[1]}, headers=auditor)
    assert verify_export(one.content, SIGNING_KEY.public_key()).count == 2
    later = agent.get("/audit/export", params={"from": rows[3]["at"]}, headers=auditor)
    assert verify_export(later.content, SIGNING_KEY.public_key()).first_position == 4

    doctored = everything.content.replace(b'"carol"', b'"mallory"', 1)
    with pytest.raises(CheckpointError, match="digest"):
        verify_export(doctored, SIGNING_KEY.public_key())
    with pytest.raises(CheckpointError, match="another key"):
        verify_export(everything.content, Ed25519PrivateKey.generate().public_key())


def test_other_tenants_changes_are_not_exported(agent: TestClient, services: Services, auditor: dict[str, str]) -> None:
    _record(agent)
    outsider = services.keys.create(actor_id="olga", role=Role.AUDITOR, tenant="globex").secret
    theirs = agent.get("/audit/export", headers={"Authorization": f"Bearer {outsider}"})
    assert verify_export(theirs.content, SIGNING_KEY.public_key()).count == 0


def test_bad_export_requests(agent: TestClient, auditor: dict[str, str]) -> None:
    for params in ({"format": "xml"}, {"from": "yesterday"}, {"ticket": "nope"}, {"colour": "red"}):
        assert agent.get("/audit/export", params=params, headers=auditor).status_code == 422, params


def test_a_queue_as_it_was(agent: TestClient, auditor: dict[str, str], services: Services) -> None:
    first = agent.post("/tickets", json={"title": "first", "requester_id": "bob", "priority": "low"}).json()["id"]
    second = agent.post("/tickets", json={"title": "second", "requester_id": "bob", "priority": "urgent"}).json()["id"]
    agent.post(f"/tickets/{first}/assignment", json={"group": "it"})
    moved = agent.post(f"/tickets/{second}/assignment", json={"group": "it"})
    history = agent.get(f"/tickets/{second}/history").json()["items"]
    then = history[-1]["at"]  # both in group it, both unsolved
    agent.post(f"/tickets/{second}/assignment", json={"group": "facilities"})
    agent.post(f"/tickets/{first}/transitions", json={"to": "solved"})
    last = agent.post(f"/tickets/{first}/transitions", json={"to": "closed"})
    agent.get("/queues/unassigned", params={"min_position": last.headers["ledgerdesk-position"]})
    assert moved.status_code == 200

    past = agent.get("/audit/queues", params={"as_of": then, "group": "it"}, headers=auditor)
    assert past.status_code == 200, past.text
    body = past.json()
    assert [(t["title"], t["group"]) for t in body["items"]] == [("second", "it"), ("first", "it")]
    assert (body["candidates"], body["examined"], body["complete"]) == (2, 2, True)
    now = agent.get("/audit/queues", params={"as_of": "2100-01-01T00:00:00Z", "group": "it"}, headers=auditor)
    assert now.json()["items"] == []
    bounded = agent.get("/audit/queues", params={"as_of": then, "max_tickets": 1}, headers=auditor).json()
    assert (bounded["examined"], bounded["complete"]) == (1, False)
    assert agent.get("/audit/queues", params={"as_of": then}).status_code == 403
    assert agent.get("/audit/queues", headers=auditor).status_code == 422
