"""A PostgreSQL primary and its streaming replica, started for the tests on loopback in a temporary folder.

The machine's own server allows no replication connections, so the tests make a cluster of
their own (`initdb`), let it serve replication on 127.0.0.1, copy it with `pg_basebackup -R`
into a second folder and start that as a hot standby on another port: PostgreSQL's real
streaming replication, as production runs it. PostgreSQL refuses to run as root, so as root
the servers run as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg


class ReplicationUnavailableError(Exception):
    """PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed here."""


@dataclass(frozen=True, slots=True)
class ReplicatedPostgres:
    """The URLs of the primary's and the replica's `postgres` database."""

    primary: str
    replica: str

    def url(self, which: str, dbname: str) -> str:
        """The URL of another database on the primary or the replica."""
        return getattr(self, which).rsplit("/", 1)[0] + f"/{dbname}"


def server_programs() -> Path:
    """The folder of PostgreSQL's server programs (Debian keeps one per major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))
    if not found:
        msg = "PostgreSQL's server programs are not installed (no /usr/lib/postgresql/*/bin/pg_basebackup)"
        raise ReplicationUnavailableError(msg)
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(*command: str | Path) -> list[str]:
    args = [str(c) for c in command]
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(*command: str | Path) -> None:
    subprocess.run(_as_server_user(*command), check=True, capture_output=True, timeout=120)


def _configure(folder: Path, port: int) -> None:
    with (folder / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{folder}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
        )


@contextmanager
def replicated_postgres() -> Iterator[ReplicatedPostgres]:
    """Start a primary and a streaming replica in a new temporary folder; stop both, then remove it."""
    bin_dir = server_programs()
    # Not under pytest's own temporary folder: that one is the test user's alone, and the server user must enter.
    root = Path(tempfile.mkdtemp(prefix="ledgerdesk-replication-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary, replica = root / "primary", root / "replica"
    primary_port, replica_port = _free_port(), _free_port()
    _run(bin_dir / "initdb", "-D", primary, "-A", "trust", "-U", "root", "--no-sync")
    _configure(primary, primary_port)
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write("\nhost replication all 127.0.0.1/32 trust\n")
    started: list[Path] = []
    try:
        _run(bin_dir / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-w", "start")
        started.append(primary)
        _run(
            bin_dir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "root",
            "-D", replica, "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        _configure(replica, replica_port)  # the later `port` line wins over the copied one
        _run(bin_dir / "pg_ctl", "-D", replica, "-l", root / "replica.log", "-w", "start")
        started.append(replica)
        urls = ReplicatedPostgres(
            f"postgresql://root@127.0.0.1:{primary_port}/postgres",
            f"postgresql://root@127.0.0.1:{replica_port}/postgres",
        )
        with psycopg.connect(urls.replica) as conn:
            standby = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert standby == (True,), "the second server is not a standby"
        yield urls
    finally:
        for folder in reversed(started):
            subprocess.run(
                _as_server_user(bin_dir / "pg_ctl", "-D", folder, "-m", "immediate", "stop"),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)
