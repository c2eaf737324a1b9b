"""Writers racing on one busy ticket, against a real `serve --workers 2` on PostgreSQL: nobody is told to retry.

A command that loses a race is carried out again inside the server (domain/races.py), so 16
clients each sending 50 changes to one ticket, without `If-Match`, all get 2xx, every change is
stored once and the ticket's versions run without a gap. With `If-Match` the loser of a race
still gets 412: it asked not to act on any other version.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from psycopg import sql

from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env, free_port, run_cli, wait_healthy

pytestmark = pytest.mark.postgres

WRITERS = 16
CHANGES = 50
#: One writer's n-th change to the ticket: the request's method, path and body.
Change = Callable[[int, int], tuple[str, str, dict[str, Any]]]


@pytest.fixture(scope="module")
def server(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """One server for the module (each test races on a ticket of its own), in a schema of its own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    settings = Settings(database_url=postgres_database, postgres_schema=schema)
    env = {**cli_env(settings), "LEDGERDESK_RATE_LIMIT": ""}
    assert run_cli("migrate", env=env).returncode == 0
    created = run_cli("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    base, log_path = f"http://127.0.0.1:{free_port()}", tmp_path_factory.mktemp("serve") / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", base.rsplit(":", 1)[1], "--workers", "2"],
            env={**os.environ, **env, "LEDGERDESK_CREATE_TABLES": "false"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(base, log_path)
        yield base, auth
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _race(base: str, auth: dict[str, str], ticket: str, change: Change) -> list[int]:
    """Every writer sends its changes one after the other, all writers at once; the statuses answered."""
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
            start.wait()
            for n in range(CHANGES):
                method, path, body = change(writer, n)
                response = client.request(method, f"/tickets/{ticket}{path}", json=body)
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses


def _history(base: str, auth: dict[str, str], ticket: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/tickets/{ticket}/history", headers=auth, timeout=60)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _open(base: str, auth: dict[str, str]) -> str:
    response = httpx.post(f"{base}/tickets", json={"title": "Busy", "requester_id": "bob"}, headers=auth)
    assert response.status_code == 201, response.text
    ticket: str = response.json()["id"]
    return ticket


def _comment(writer: int, n: int) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/comments", {"body": f"writer {writer} note {n}", "public": False}


def _assign(writer: int, n: int) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/assignment", {"assignee": f"agent-{writer}-{n}"}


def _tag(writer: int, n: int) -> tuple[str, str, dict[str, Any]]:
    # Each writer's own tag on and off again: every request changes the tags.
    tag = [f"w{writer}"]
    return "PATCH", "", {"add_tags": tag} if n % 2 == 0 else {"remove_tags": tag}


@pytest.mark.parametrize(
    ("change", "event"), [(_comment, "CommentAdded"), (_assign, "Assigned"), (_tag, "TagsChanged")]
)
def test_sixteen_writers_on_one_ticket_get_no_conflict_and_every_change_is_stored_once(
    server: tuple[str, dict[str, str]], change: Change, event: str
) -> None:
    base, auth = server
    ticket = _open(base, auth)

    statuses = _race(base, auth, ticket, change)

    assert len(statuses) == WRITERS * CHANGES
    assert set(statuses) == {201 if change is _comment else 200}
    history = _history(base, auth, ticket)
    assert [entry["version"] for entry in history] == list(range(1, WRITERS * CHANGES + 2))  # gap-free
    assert sum(1 for entry in history if entry["event"] == event) == WRITERS * CHANGES


def test_with_if_match_the_loser_of_a_race_gets_412(server: tuple[str, dict[str, str]]) -> None:
    base, auth = server
    ticket = _open(base, auth)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def assign(n: int) -> None:
        with httpx.Client(base_url=base, headers={**auth, "If-Match": '"1"'}, timeout=60) as client:
            start.wait()
            statuses.append(client.post(f"/tickets/{ticket}/assignment", json={"assignee": f"a{n}"}).status_code)

    threads = [threading.Thread(target=assign, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [412] * 7
    assert [entry["version"] for entry in _history(base, auth, ticket)] == [1, 2]
