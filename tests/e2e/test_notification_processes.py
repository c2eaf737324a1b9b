"""Notifications in production shape: `ledgerdesk worker --only notifications` on PostgreSQL, SIGKILLed mid-batch.

200 notifications are made (200 tickets, each answered by an agent) for a real SMTP server in this
process that records each Message-ID. The worker sends one message at a time, and is killed with
SIGKILL twice while sending, and started again each time. Every notification arrives; a Message-ID
arrives twice only for the message in the window between the server's 250 and the row's commit
as `sent`: at most one per kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env
from tests.support.smtp_sink import SmtpSink

NOTIFICATIONS = 200
KILLS = 2
AGENT = Actor("alice", ActorKind.AGENT, role=Role.AGENT.value)


def _worker(env: dict[str, str], log: IO[Any]) -> subprocess.Popen[bytes]:
    command = [*CLI, "worker", "--only", "notifications"]
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=log)


def _wait(done: Callable[[], bool], within: float, log: Path) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_killed_notifier_loses_nothing_and_resends_only_the_message_in_the_window(
    sql_settings: Settings, tmp_path: Path
) -> None:
    services = build_services(sql_settings)
    desk = services.desk
    admin = Actor("root", ActorKind.AGENT, role=Role.ADMIN.value)
    desk.define_agent(
        tenant="acme", agent="alice", groups=[], skills={}, capacity=10, available=True, by=admin, via="api"
    )
    for n in range(NOTIFICATIONS):
        opened = desk.open_ticket(
            tenant="acme",
            title=f"t{n}",
            requester_id=f"r{n}",
            requester_email=f"r{n}@customer.test",
            by=AGENT,
            via="api",
        )
        desk.add_comment(opened.ticket_id, f"answer {n}", public=True, by=AGENT, via="api")
    sink = SmtpSink(delay=0.01).start()
    env = {
        **cli_env(sql_settings),
        "LEDGERDESK_SMTP_URL": sink.url,
        "LEDGERDESK_MAIL_FROM": "help@desk.test",
        "LEDGERDESK_LEASE_SECONDS": "2",
        "LEDGERDESK_NOTIFY_POLL_SECONDS": "0.1",
        "LEDGERDESK_NOTIFY_TIMEOUT_SECONDS": "0.5",  # a killed sender's claims are free again 7 s later
        "LEDGERDESK_NOTIFY_CONCURRENCY": "1",  # one message in flight: at most one in the window at a kill
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = _worker(env, log)
    try:
        for kill in range(KILLS):
            arrived = len(set(sink.ids()))
            _wait(lambda arrived=arrived: len(set(sink.ids())) >= arrived + 40, 60, log_path)
            worker.send_signal(signal.SIGKILL)  # by its pid: the worker this test started
            worker.wait(timeout=30)
            assert len(set(sink.ids())) < NOTIFICATIONS, f"kill {kill + 1} came after every message was sent"
            worker = _worker(env, log)
        _wait(lambda: len(set(sink.ids())) == NOTIFICATIONS, 120, log_path)
        _wait(lambda: set(services.outbox().statuses().values()) == {"sent"}, 60, log_path)
        _wait(lambda: not services.outbox().unrecorded(limit=10), 60, log_path)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
        sink.stop()
    statuses = services.outbox().statuses()
    services.close()
    counts = Counter(sink.ids())
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nnotifications: {NOTIFICATIONS}, kills: {KILLS}, Message-IDs received twice: {duplicates}")  # noqa: T201
    assert set(counts) == set(statuses)  # every notification arrived, and nothing else did
    assert len(statuses) == NOTIFICATIONS  # one notification per event and recipient: nothing enqueued twice
    assert duplicates <= KILLS, counts.most_common(3)
