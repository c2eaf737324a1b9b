"""Start-up on PostgreSQL: processes started together, the schema made in one step, waiting for it.

Real processes of the `ledgerdesk` command against real, fresh schemas. A process is "up" when
it says so (the projector and the SLA watcher print one line once their services are built;
`serve` answers /healthz); each is then stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from psycopg import sql

from tests.support.processes import CLI
from tests.support.processes import free_port as _free_port
from tests.support.processes import run_cli as _run

ROUNDS = 20
UP_WITHIN_SECONDS = 60  # a guard against hanging, not a timing assertion
UP_LINES = {"project": "ledgerdesk: projecting events", "sla-watch": "ledgerdesk: watching SLAs"}


@contextlib.contextmanager
def _fresh_schema(database_url: str) -> Iterator[str]:
    """A new, empty schema, dropped afterwards."""
    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@dataclass
class Started:
    """One process of the `ledgerdesk` command, and what it printed."""

    command: list[str]
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    up: threading.Event = field(default_factory=threading.Event)
    port: int | None = None

    def read(self) -> None:
        """Collect its output; note when it says it is up."""
        assert self.process.stdout is not None
        wanted = UP_LINES.get(self.command[0])
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if wanted is not None and line.startswith(wanted):
                self.up.set()

    def wait_up(self) -> bool:
        """Whether it came up (serve: /healthz answers), or False if it exited first."""
        if self.port is None:
            return self._wait_line()
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=1)
        with client:
            for _ in range(UP_WITHIN_SECONDS * 10):
                if self.process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        return True
                self.up.wait(0.1)  # never set for serve: a pause between probes
        return False

    def _wait_line(self) -> bool:
        for _ in range(UP_WITHIN_SECONDS * 10):
            if self.up.wait(0.1):
                return True
            if self.process.poll() is not None:
                return self.up.wait(1)  # its last lines may still be in the pipe
        return False

    def stop(self) -> int:
        """SIGTERM by PID; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _start(command: list[str], env: dict[str, str]) -> Started:
    port = None
    if command[0] == "serve":
        port = _free_port()
        command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*CLI, *command],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = Started(command, process, port=port)
    threading.Thread(target=started.read, daemon=True).start()
    return started


def _env(database_url: str, schema: str, **extra: str) -> dict[str, str]:
    return {
        "LEDGERDESK_DATABASE_URL": database_url,
        "LEDGERDESK_POSTGRES_SCHEMA": schema,
        "LEDGERDESK_SLA_WATCH_INTERVAL_SECONDS": "30",
        **extra,
    }


def _start_together(env: dict[str, str], commands: list[list[str]]) -> list[str]:
    """Start the commands at once; the failures (command and output) of any that did not come up."""
    started = [_start(command, env) for command in commands]
    failures = []
    try:
        for one in started:
            if not one.wait_up():
                failures.append(f"{' '.join(one.command)}: did not come up: " + "\n".join(one.lines[-15:]))
    finally:
        for one in started:
            one.stop()
    return failures


@pytest.mark.postgres
def test_four_processes_started_at_once_on_a_fresh_schema_all_come_up(postgres_database: str) -> None:
    """Finding 11: `serve`, `project`, `sla-watch` and a second `serve`, twenty times, each on a fresh schema."""
    commands = [["serve"], ["project"], ["sla-watch"], ["serve"]]
    failures: list[str] = []
    for _ in range(ROUNDS):
        with _fresh_schema(postgres_database) as schema:
            failures += _start_together(_env(postgres_database, schema), commands)
    assert not failures, f"{len(failures)} of {ROUNDS * len(commands)} processes failed:\n" + "\n\n".join(failures)


def _append_function_xmin(database_url: str, schema: str) -> int:
    """The row version of the append function: CREATE OR REPLACE writes a new one."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT p.xmin::text::bigint FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = 'helpdesk_events_append'",
            (schema,),
        ).fetchone()
    assert row is not None, "no append function"
    return int(row[0])


@pytest.mark.postgres
def test_migrate_twice_changes_nothing_the_second_time(postgres_database: str) -> None:
    with _fresh_schema(postgres_database) as schema:
        env = _env(postgres_database, schema)
        first = _run("migrate", env=env)
        assert first.returncode == 0, first.stderr
        assert "migrated" in first.stdout
        before = _append_function_xmin(postgres_database, schema)
        second = _run("migrate", env=env)
        assert second.returncode == 0, second.stderr
        assert "already at version" in second.stdout
        assert _append_function_xmin(postgres_database, schema) == before  # no DDL ran


@pytest.mark.postgres
def test_a_process_without_create_tables_waits_for_migrate(postgres_database: str) -> None:
    with _fresh_schema(postgres_database) as schema:
        env = _env(postgres_database, schema, LEDGERDESK_CREATE_TABLES="false", LEDGERDESK_SCHEMA_WAIT_SECONDS="60")
        projector = _start(["project"], env)
        try:
            assert not projector.up.wait(1)  # waiting: the schema is not there
            assert projector.process.poll() is None, projector.lines
            done = _run("migrate", env=_env(postgres_database, schema))
            assert done.returncode == 0, done.stderr
            assert projector.wait_up(), projector.lines
        finally:
            assert projector.stop() in (0, -signal.SIGTERM), projector.lines


@pytest.mark.postgres
def test_a_process_without_create_tables_fails_clearly_when_the_schema_never_comes(
    postgres_database: str, tmp_path: Path
) -> None:
    with _fresh_schema(postgres_database) as schema:
        env = _env(postgres_database, schema, LEDGERDESK_CREATE_TABLES="false", LEDGERDESK_SCHEMA_WAIT_SECONDS="1")
        for command in (["project"], ["keys", "list"]):
            done = _run(*command, env=env)
            assert done.returncode == 2, done.stderr
            assert done.stderr.strip().count("\n") == 0, done.stderr
            assert done.stderr.startswith("ledgerdesk: error: the database schema is not ready")
            assert "ledgerdesk migrate" in done.stderr


def test_migrate_works_on_sqlite_too(tmp_path: Path) -> None:
    env = {"LEDGERDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite'}"}
    first = _run("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "migrated" in first.stdout
    second = _run("migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "already at version" in second.stdout
    listed = _run("keys", "list", env={**env, "LEDGERDESK_CREATE_TABLES": "false"})
    assert listed.returncode == 0, listed.stderr
