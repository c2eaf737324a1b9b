"""Resilience against PostgreSQL going away, with the real server process and the real database.

The database is made unreachable (new connections refused, existing ones terminated), then
brought back. While it is away the API answers 503 problem+json with Retry-After; afterwards it
recovers by itself, and every command it acknowledged is stored.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.processes import CLI
from tests.support.processes import cli_env as _env
from tests.support.processes import free_port as _free_port
from tests.support.processes import run_cli as _run
from tests.support.processes import wait_healthy as _wait_healthy

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
                # A write that loses a race is carried out again inside the server: never a 409 here.
                response = client.post(f"/tickets/{ticket}/comments", json={"body": body, "public": False})
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


# --- connections: after the server ends them, within the budget, and when none is left ----------------


def _backends(database_url: str, where: str, *params: object) -> list[int]:
    """Backend pids of the database's sessions matching `where` (never the asking session)."""
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND {where}",
            (name, *params),
        ).fetchall()
    return [int(row[0]) for row in rows]


def _terminate(database_url: str, pids: list[int]) -> None:
    """End these sessions, as a database restart does, and wait until they are gone."""
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone() != (0,):
            time.sleep(0.05)


def _eventually_status(client: TestClient, path: str, *, attempts: int = 20) -> int:
    """The status of GET `path` once it is no longer 503, retrying after the Retry-After the 503 names."""
    response = client.get(path)
    for _ in range(attempts):
        if response.status_code != 503:
            break
        time.sleep(float(response.headers.get("retry-after", "1")))
        response = client.get(path)
    return response.status_code


def _fill_pool(services: Services, connections: int) -> None:
    """Leave `connections` idle connections in the events' pool."""
    pool = services.desk.recorder.datastore.pool  # type: ignore[attr-defined]
    with contextlib.ExitStack() as held:
        for _ in range(connections):
            held.enter_context(pool.connection())


@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_after_the_server_ends_every_session_the_next_requests_succeed(sql_services: Services) -> None:
    """Finding 13: pooled connections the server ended are never handed to a request (no 503 after)."""
    key = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    url = sql_services.settings.database_url
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as client:
        ticket = client.post("/tickets", json={"title": "before", "requester_id": "bob"}).json()["id"]
        for _ in range(3):  # every connection the pool holds is ended, several times over
            _fill_pool(sql_services, 4)
            _terminate(url, _backends(url, "state = 'idle'"))
            statuses = [client.get(f"/tickets/{ticket}").status_code for _ in range(6)]
            statuses += [client.post("/tickets", json={"title": "after", "requester_id": "bob"}).status_code]
            statuses += [client.post(f"/tickets/{ticket}/comments", json={"body": "n", "public": False}).status_code]
            assert statuses == [200] * 6 + [201, 201]


@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_server_process_holds_no_more_connections_than_its_budget(sql_settings: Settings, tmp_path: Path) -> None:
    """Finding 12: 16 clients at once against a budget of 3 (pool and LISTEN); idle connections go."""
    env = {
        **_env(sql_settings),
        "LEDGERDESK_RATE_LIMIT": "",
        "LEDGERDESK_PROJECTIONS_IN_PROCESS": "true",  # the LISTEN connection counts too
        "LEDGERDESK_DB_POOL_MAX": "3",
        "LEDGERDESK_POOL_SIZE": "0",
        "LEDGERDESK_DB_IDLE_SECONDS": "1",
    }
    key = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    auth = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    port, log_path = _free_port(), tmp_path / "serve.log"
    url = sql_settings.database_url
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        held: list[int] = []
        loaders = [Loader(f"http://127.0.0.1:{port}", auth) for _ in range(16)]
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", log_path)
            for loader in loaders:
                loader.start()
            while sum(len(loader.acknowledged) for loader in loaders) < 300:
                held.append(len(_backends(url, "application_name = %s", f"ledgerdesk-{server.pid}")))
            for loader in loaders:
                loader.stop.set()
                loader.join(timeout=30)
            # Unused, the pool's extra connections are closed; LISTEN stays, and the one connection the
            # background processes' once-a-second looks for new events keep busy.
            deadline = time.monotonic() + 60
            while (left := len(_backends(url, "application_name = %s", f"ledgerdesk-{server.pid}"))) > 2:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, f"{left} connections still open a minute after the load"
                time.sleep(0.2)
        finally:
            for loader in loaders:
                loader.stop.set()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    for loader in loaders:
        assert loader.error is None, loader.error
        assert set(loader.statuses) == {201}  # waiting for a connection of the budget, never refused
    assert max(held) <= 3, held
    assert max(held) >= 2, held  # the sampling saw the pool at work beside LISTEN


@contextlib.contextmanager
def _limited_database(admin_url: str, limit: int) -> Iterator[str]:
    """A database whose (non-superuser) owner may hold at most `limit` connections: a server with no slot left."""
    role = f"ld_budget_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {}").format(sql.Identifier(role), limit))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(role), sql.Identifier(role)))
    try:
        yield f"postgresql://{role}@{urlsplit(admin_url).netloc.split('@')[-1]}/{role}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.postgres
def test_when_the_server_has_no_slot_left_the_cli_says_so_and_the_api_answers_503(postgres_database: str) -> None:
    """Finding 12: a clear one-line error naming the budget (CLI), 503 problem+json (API), then recovery."""
    with _limited_database(postgres_database.rsplit("/", 1)[0] + "/postgres", limit=3) as url:
        settings = Settings(database_url=url, db_pool_max=3, pool_size=0, connect_timeout_seconds=1)
        services = build_services(settings)
        try:
            key = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
            with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as client:
                assert client.get("/tickets/00000000-0000-0000-0000-000000000001").status_code == 404
                _terminate(url, _backends(url, "application_name = %s", f"ledgerdesk-{os.getpid()}"))
                others = [psycopg.connect(url) for _ in range(3)]  # every slot the server allows
                try:
                    refused = client.get("/tickets/00000000-0000-0000-0000-000000000001")
                    done = _run("keys", "list", env={"LEDGERDESK_DATABASE_URL": url, "LEDGERDESK_DB_POOL_MAX": "3"})
                finally:
                    for conn in others:
                        conn.close()
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert done.returncode == 2
                assert done.stderr.strip().count("\n") == 0, done.stderr
                assert "too many connections" in done.stderr
                assert "LEDGERDESK_DB_POOL_MAX=3" in done.stderr
                # Recovered by itself: the pool's reconnection attempts back off (psycopg_pool), so a client
                # retrying as Retry-After asks gets its answer again within a few attempts.
                assert _eventually_status(client, "/tickets/00000000-0000-0000-0000-000000000001") == 404
        finally:
            services.close()
