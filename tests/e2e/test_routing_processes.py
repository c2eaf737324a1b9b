"""Routing in production shape: `ledgerdesk worker` processes on PostgreSQL, two routers, one killed mid-burst.

The API runs in the test's process (commands only, as an API worker on PostgreSQL): the directory
and tickets opened into a round-robin group over REST, while two workers run the router, one of
them SIGKILLed halfway and started again. Every ticket ends assigned exactly once by the routing
rule, evenly, and the API shows who has it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
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

AGENTS = ("ann", "cat", "eve")
TICKETS = 60


def _worker(env: dict[str, str], log: IO[Any], only: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "worker", "--only", only], env={**os.environ, **env}, stdout=log, stderr=log)


def _started(log: Path, workers: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and log.read_text().count("worker running") < workers:
        time.sleep(0.05)


def _routed(desk: Any, tickets: list[UUID], *, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(desk.get_ticket(t).assignee is None for t in tickets):
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_router_workers_one_killed_mid_burst_route_every_ticket_once(
    sql_settings: Settings, tmp_path: Path
) -> None:
    services = build_services(sql_settings)
    desk = services.desk
    admin = services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {admin}"}) as api:
        for name in AGENTS:
            assert api.put(f"/agents/{name}", json={"capacity": 100, "available": True}).status_code == 200
        group = api.put("/groups/it", json={"members": list(AGENTS), "routing": "round_robin"})
        assert group.status_code == 200, group.text
        env = cli_env(sql_settings)
        log = (tmp_path / "workers.log").open("w")
        workers = [_worker(env, log, "projections,router"), _worker(env, log, "router")]
        tickets: list[UUID] = []
        try:
            for n in range(TICKETS):
                opened = api.post("/tickets", json={"title": f"t{n}", "requester_id": "bob", "group": "it"})
                assert opened.status_code == 201, opened.text
                tickets.append(UUID(opened.json()["id"]))
                if n == 0:
                    _routed(desk, tickets, within=30)  # the workers are up: the rest is a burst they route as it comes
                if n == TICKETS // 2:
                    workers[1].send_signal(signal.SIGKILL)  # whatever it was deciding is stored whole or not at all
                    workers[1].wait(timeout=30)
                    workers[1] = _worker(env, log, "router")
                time.sleep(0.01)
            _routed(desk, tickets, within=60)
            _started(tmp_path / "workers.log", 3)  # the restarted one too, before it is told to stop
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(timeout=30) for worker in workers]
            log.close()
        said = (tmp_path / "workers.log").read_text()
        assert codes == [0, 0], said
        routed = {
            t: [e for e in desk._events_of(t, None) if isinstance(e, Ticket.Assigned) and e.via == "routing"]
            for t in tickets
        }
        shown = api.get(f"/tickets/{tickets[-1]}").json()
    services.close()
    assert all(len(events) == 1 for events in routed.values()), said
    assert Counter(events[0].assignee for events in routed.values()) == {"ann": 20, "cat": 20, "eve": 20}
    assert shown["assignee"] == routed[tickets[-1]][0].assignee
