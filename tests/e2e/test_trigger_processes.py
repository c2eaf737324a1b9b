"""Triggers in production shape: two `ledgerdesk worker --only triggers` on PostgreSQL, the active one SIGKILLed.

One runner holds the lease and runs the triggers, the other stands by. Tickets are opened over
REST; halfway the active runner is killed with SIGKILL and started again. The standby takes over
once the lease runs out, and every ticket ends with its trigger fired exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.tickets.ticket import Ticket
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env

TICKETS = 40
LEASE_SECONDS = "2"


def _worker(env: dict[str, str], log: IO[Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "worker", "--only", "triggers"], env={**os.environ, **env}, stdout=log, stderr=log)


def _fired(desk: Any, ticket_id: UUID) -> list[Any]:
    return [e for e in desk._events_of(ticket_id, None) if isinstance(e, Ticket.TriggerFired)]


def _wait(done: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_killed_trigger_runner_loses_nothing_and_repeats_nothing(sql_settings: Settings, tmp_path: Path) -> None:
    services = build_services(sql_settings)
    desk = services.desk
    admin = services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    rule = {
        "title": "Tag every new ticket",
        "position": 1,
        "on": ["created"],
        "actions": [{"add_tags": ["seen"]}],
    }
    env = {**cli_env(sql_settings), "LEDGERDESK_LEASE_SECONDS": LEASE_SECONDS}
    log = (tmp_path / "workers.log").open("w")
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {admin}"}) as api:
        assert api.put("/triggers/tag-new", json=rule).status_code == 200
        workers = [_worker(env, log), _worker(env, log)]
        tickets: list[UUID] = []
        try:
            for n in range(TICKETS):
                opened = api.post("/tickets", json={"title": f"t{n}", "requester_id": "bob"})
                assert opened.status_code == 201, opened.text
                tickets.append(UUID(opened.json()["id"]))
                if n == 0:
                    _wait(lambda: _fired(desk, tickets[0]), 30)  # a runner holds the lease and runs
                if n == TICKETS // 2:
                    holder = _holder(services, workers)
                    workers[holder].send_signal(signal.SIGKILL)
                    workers[holder].wait(timeout=30)
                    workers[holder] = _worker(env, log)
                time.sleep(0.01)
            _wait(lambda: all(_fired(desk, t) for t in tickets), 60)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)
            log.close()
    fired = {t: _fired(desk, t) for t in tickets}
    services.close()
    said = (tmp_path / "workers.log").read_text()
    assert all(len(events) == 1 for events in fired.values()), said


def _holder(services: Any, workers: list[subprocess.Popen[bytes]]) -> int:
    """Which of the workers holds the trigger lease (its holder name carries the pid)."""
    lease = services.lease("triggers")
    with services.desk.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT holder FROM {lease.table} WHERE name = 'triggers'")
        holder = cursor.fetchone()["holder"]
    pids = [w.pid for w in workers]
    return pids.index(int(holder.split(":")[1]))
