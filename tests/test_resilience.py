"""Resilience against PostgreSQL going away, with the real server process and the real database.

The database is made unreachable (new connections refused, existing ones terminated), then
brought back. While it is away the API answers 503 problem+json with Retry-After; afterwards it
recovers by itself, and every command it acknowledged is stored.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from infrastructure.composition import Services
from infrastructure.keys import Role
from infrastructure.settings import Settings
from tests.test_cli import CLI, _env, _free_port, _run, _wait_healthy

pytestmark = pytest.mark.postgres


def _set_reachable(database_url: str, reachable: bool) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(sql.Identifier(name), sql.Literal(reachable))
        )
        if not reachable:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


class Loader(threading.Thread):
    """Opens tickets one after another until stopped, noting every answer."""

    def __init__(self, base: str, auth: dict[str, str]) -> None:
        super().__init__()
        self.base, self.auth = base, auth
        self.acknowledged: list[str] = []
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.refused = False  # the server stopped accepting connections

    def run(self) -> None:
        try:
            self._load()
        except httpx.TransportError:
            self.refused = True
        except BaseException as error:  # reported by the test, which runs in another thread
            self.error = error

    def _load(self) -> None:
        n = 0
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=15) as client:
            while not self.stop.is_set():
                n += 1
                response = client.post("/tickets", json={"title": f"t{n}", "requester_id": "bob"})
                self.statuses.append(response.status_code)
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])
                else:
                    assert response.status_code == 503, response.text
                    assert response.headers["content-type"] == "application/problem+json"
                    assert response.headers["retry-after"] == "1"
                    time.sleep(0.05)


@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_the_api_answers_503_while_the_database_is_away_and_recovers(sql_settings: Settings, tmp_path: Path) -> None:
    env = {**_env(sql_settings), "LEDGERDESK_CONNECT_TIMEOUT_SECONDS": "1", "LEDGERDESK_RATE_LIMIT": ""}
    key = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    auth = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    loader = Loader(base, auth)
    try:
        _wait_healthy(base, tmp_path / "serve.log")
        loader.start()
        time.sleep(1)
        _set_reachable(sql_settings.database_url, reachable=False)
        away_until = time.monotonic() + 30  # the store retries for a while before giving up
        while 503 not in loader.statuses and time.monotonic() < away_until and loader.is_alive():
            time.sleep(0.2)
        _set_reachable(sql_settings.database_url, reachable=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and loader.statuses[-1:] != [201]:
            time.sleep(0.2)
        time.sleep(1)
        loader.stop.set()
        loader.join(timeout=30)
    finally:
        loader.stop.set()
        _set_reachable(sql_settings.database_url, reachable=True)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert loader.error is None, loader.error
    assert 503 in loader.statuses, "the database was away for 30 s; some request must have seen it"
    assert loader.statuses[-1] == 201, "the service did not recover by itself"
    with psycopg.connect(sql_settings.database_url) as conn:
        table = sql.Identifier(sql_settings.postgres_schema, "helpdesk_events")
        stored = {row[0] for row in conn.execute(sql.SQL("SELECT originator_id::text FROM {}").format(table))}
    assert set(loader.acknowledged) <= stored  # no acknowledged command was lost


@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_sigterm_finishes_in_flight_requests_and_stops_cleanly(sql_settings: Settings, tmp_path: Path) -> None:
    env = {**_env(sql_settings), "LEDGERDESK_RATE_LIMIT": "", "LEDGERDESK_PROJECTIONS_IN_PROCESS": "true"}
    key = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    auth = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        loaders = [Loader(base, auth) for _ in range(4)]
        try:
            _wait_healthy(base, log_path)
            for loader in loaders:
                loader.start()
            time.sleep(1.5)
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        finally:
            for loader in loaders:
                loader.stop.set()
            if server.poll() is None:
                server.kill()
        for loader in loaders:
            loader.join(timeout=30)
    output = log_path.read_text()
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    for loader in loaders:
        assert loader.error is None, loader.error
        assert set(loader.statuses) == {201}  # every answered request was served in full
    with psycopg.connect(sql_settings.database_url) as conn:
        table = sql.Identifier(sql_settings.postgres_schema, "helpdesk_events")
        stored = {row[0] for row in conn.execute(sql.SQL("SELECT originator_id::text FROM {}").format(table))}
    assert {t for loader in loaders for t in loader.acknowledged} <= stored


@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_sixteen_writers_on_fifty_tickets_lose_and_duplicate_nothing(sql_services: Services) -> None:
    """Every acknowledged command's event is stored exactly once, however the writers collide."""
    key = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as client:
        tickets = [
            client.post("/tickets", json={"title": f"t{n}", "requester_id": "bob"}).json()["id"] for n in range(50)
        ]
        acknowledged: list[tuple[str, str]] = []
        lock = threading.Lock()

        def write(writer: int) -> None:
            rng = random.Random(writer)
            for n in range(25):
                ticket, body = rng.choice(tickets), f"writer {writer} note {n}"
                for _ in range(50):  # retry on 409 until the write lands
                    response = client.post(f"/tickets/{ticket}/comments", json={"body": body, "public": False})
                    if response.status_code != 409:
                        break
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged.append((ticket, body))

        writers = [threading.Thread(target=write, args=(w,)) for w in range(16)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
        stored: Counter[tuple[str, str]] = Counter()
        for ticket in tickets:
            for entry in client.get(f"/tickets/{ticket}/history").json()["items"]:
                for change in entry["changes"]:
                    if change["field"].startswith("comments."):
                        stored[(ticket, change["new"]["body"])] += 1
    assert len(acknowledged) == 16 * 25
    assert stored == Counter(acknowledged)  # each acknowledged comment once, nothing else
