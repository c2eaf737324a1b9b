"""What every HTTP benchmark needs: a throw-away database, API keys, and the service's processes.

The processes are the production ones (`ledgerdesk serve --workers N` and `ledgerdesk project`),
started as subprocesses on 127.0.0.1 with the settings of the database under test; nothing here
reaches any other address.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from psycopg import sql

from domain.access.policy import Role
from infrastructure.composition import Services

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLI = [sys.executable, "-c", "from api.cli import main; main()"]
PG: dict[str, Any] = {"host": "127.0.0.1", "port": 5432}
# The benches send thousands of requests a second with one key: the per-key rate limit would answer
# most of them with 429, so it is off (equally for both sides of every comparison).
SERVER_ENV = {"LEDGERDESK_RATE_LIMIT": ""}
STARTUP_SECONDS = 60
SERVE = [*CLI, "serve"]


def admin() -> tuple[psycopg.Connection[Any], str]:
    """A superuser connection to the `postgres` database on 127.0.0.1, as root or postgres."""
    for user in ("root", "postgres"):
        try:
            conn = psycopg.connect(**PG, user=user, dbname="postgres", autocommit=True, connect_timeout=3)
        except psycopg.Error:
            continue
        return conn, user
    sys.exit("bench: no PostgreSQL answers on 127.0.0.1:5432 as root or postgres")


@contextmanager
def scratch_database(conn: psycopg.Connection[Any], user: str) -> Iterator[str]:
    """A new, empty database on 127.0.0.1, dropped afterwards; yields its URL."""
    name = f"ledgerdesk_bench_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://{user}@127.0.0.1:5432/{name}"
    finally:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def settle(database_url: str) -> None:
    """VACUUM ANALYZE and CHECKPOINT, so each timed run starts from the same quiet state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):  # without it, only a little noisier
            conn.execute("CHECKPOINT")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by this machine's PostgreSQL server processes (those alive now)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
    return total


class CpuMeter:
    """CPU time of named processes and of PostgreSQL between `start()` and `stop()`.

    Everything shares the machine's cores, so where a command's CPU goes (API workers, the
    projection process, the database) tells what a second worker has left to run on.
    PostgreSQL backends that end during the interval are not counted.
    """

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        now["postgres"] = postgres_cpu_seconds()
        return now

    def start(self) -> None:
        """Begin measuring."""
        self._start = self._now()

    def stop(self, commands: int) -> dict[str, float]:
        """Milliseconds of CPU per command for each process group since start()."""
        end = self._now()
        return {name: round(1000 * (end[name] - self._start[name]) / max(commands, 1), 3) for name in end}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(base: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until GET /healthz answers 200 (or the process died)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"bench: the server exited with status {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit("bench: the server did not start")


def make_key(services: Services, *, tenant: str, role: Role = Role.AGENT, actor: str = "bench") -> str:
    """A new API key (the bearer token) for a principal of `tenant`."""
    return services.keys.create(actor_id=actor, role=role, tenant=tenant).secret


def children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


@dataclass
class Server:
    """A running `ledgerdesk serve`."""

    process: subprocess.Popen[bytes]
    base: str
    workers: int

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: the server itself with one worker, else its workers."""
        if self.workers == 1:
            return [self.process.pid]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # uvicorn's supervisor has the workers as children (and, at times, a resource tracker).
            pids = [p for p in children(self.process.pid) if _is_worker(p)]
            if len(pids) >= self.workers:
                return pids
            time.sleep(0.1)
        return children(self.process.pid)


def _is_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    return False


def _env(database_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, **SERVER_ENV, "LEDGERDESK_DATABASE_URL": database_url, **(extra or {})}


@contextmanager
def serve(
    database_url: str, *, workers: int, env: dict[str, str] | None = None, command: Sequence[str] = SERVE
) -> Iterator[Server]:
    """`ledgerdesk serve --workers N` on a free port of 127.0.0.1, stopped (SIGTERM) afterwards.

    `command` serves another app in its place; it takes the same `--host`, `--port` and `--workers`.
    """
    port = free_port()
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=_env(database_url, env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, process)
        yield Server(process, base, workers)
    finally:
        stop(process)


@contextmanager
def project(database_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`ledgerdesk project`, the projection process of production, stopped (SIGTERM) afterwards."""
    process = subprocess.Popen(
        [*CLI, "project"], env=_env(database_url, env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def worker(database_url: str, only: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`ledgerdesk worker --only <only>`, background processes of production, stopped (SIGTERM) afterwards."""
    process = subprocess.Popen(
        [*CLI, "worker", "--only", only],
        env=_env(database_url, env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not stop within 30 s (only this process, by its PID)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_projected(services: Services, timeout: float = 600.0) -> int:
    """Wait until the serving read model has applied the log's head; return that position."""
    head = services.desk.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while (position := services.read_models.position()) < head:
        if time.monotonic() > deadline:
            msg = f"the projection process is still at {position} of {head} after {timeout:.0f} s"
            raise RuntimeError(msg)
        time.sleep(0.05)
    return position
