"""Webhooks in production shape: a `ledgerdesk worker --only webhooks` on PostgreSQL, SIGKILLed mid-batch.

Tickets are opened and commented over REST while the worker delivers them to a real receiver
(which verifies every signature); once some have arrived the worker is killed with SIGKILL and
started again. Nothing is lost (every event arrives), nothing is enqueued twice (one delivery
row per event, its id the same on every attempt), and after de-duplication by webhook-id each
ticket's events arrived in order. Only the attempts in flight at the kill may arrive twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env
from tests.support.receiver import Receiver

TICKETS = 40
CONCURRENCY = 4
WORKER_ENV = {
    "LEDGERDESK_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
    "LEDGERDESK_LEASE_SECONDS": "2",
    "LEDGERDESK_WEBHOOK_POLL_SECONDS": "0.1",
    "LEDGERDESK_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "LEDGERDESK_WEBHOOK_RETRY_MAX_SECONDS": "1",
    "LEDGERDESK_WEBHOOK_TIMEOUT_SECONDS": "1",
    "LEDGERDESK_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
}


def _worker(env: dict[str, str], log: IO[Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "worker", "--only", "webhooks"], env={**os.environ, **env}, stdout=log, stderr=log)


def _wait(done: Callable[[], bool], within: float, log: Path) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def _rows(services: Services) -> list[dict[str, Any]]:
    with services.desk.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        table = services.webhook_store.deliveries._table
        cursor.execute(f"SELECT id, position, aggregate_id, status FROM {table} ORDER BY position")
        return list(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_killed_webhook_worker_loses_nothing_and_enqueues_nothing_twice(
    sql_settings: Settings, tmp_path: Path
) -> None:
    services = build_services(sql_settings.model_copy(update={"webhook_allowlist": "127.0.0.0/8"}))
    services.start_projections()  # the feed, which the worker reads, goes as far as the read models
    admin = services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    receiver = Receiver(delay=0.02).start()
    env = {**cli_env(sql_settings), **WORKER_ENV}
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {admin}"}) as api:
        made = api.post("/webhooks", json={"url": receiver.url, "event_types": ["Ticket.*"]})
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])
        worker = _worker(env, log)
        try:
            tickets = []
            for n in range(TICKETS):
                opened = api.post("/tickets", json={"title": f"t{n}", "requester_id": "bob"})
                assert opened.status_code == 201, opened.text
                tickets.append(opened.json()["id"])
                api.post(f"/tickets/{tickets[-1]}/comments", json={"body": "more"})
            _wait(lambda: len(receiver.unique()) >= 10, 60, log_path)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            arrived_before = len(receiver.unique())
            assert arrived_before < 2 * TICKETS, "the kill came after every delivery; nothing was mid-batch"
            worker = _worker(env, log)
            _wait(lambda: len(receiver.unique()) == 2 * TICKETS, 120, log_path)
            _wait(lambda: {r["status"] for r in _rows(services)} == {"delivered"}, 60, log_path)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            log.close()
            receiver.stop()
    rows = _rows(services)
    services.close()
    assert len(rows) == 2 * TICKETS
    assert len({r["position"] for r in rows}) == len(rows)  # one delivery per event: nothing enqueued twice
    assert {r["id"] for r in rows} == set(receiver.unique())  # every delivery arrived: nothing lost
    repeats = len(receiver.ids()) - len(receiver.unique())
    assert repeats <= 2 * CONCURRENCY, repeats  # only what was in flight at the kill came twice
    first_arrivals: dict[str, list[int]] = {}
    seen: set[str] = set()
    for got in receiver.received:
        if got.id not in seen:
            seen.add(got.id)
            first_arrivals.setdefault(got.event["ticket_id"], []).append(got.event["aggregate_version"])
    assert all(versions == [1, 2] for versions in first_arrivals.values()), first_arrivals
    assert set(first_arrivals) == set(tickets)
