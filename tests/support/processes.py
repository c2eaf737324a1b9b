"""Real `ledgerdesk` processes for end-to-end tests: the CLI as a subprocess, a free loopback port, health."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from infrastructure.settings import Settings

#: The CLI as a subprocess, from this checkout (no installed script needed).
CLI = [sys.executable, "-c", "from api.cli import main; main()"]


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `ledgerdesk ARGS` to the end, with `env` on top of this process's environment."""
    return subprocess.run(
        [*CLI, *args], check=False, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(base: str, log: Path) -> None:
    """Wait (at most 30 s) until the server at `base` answers /healthz; fail showing its log."""
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `ledgerdesk` process at the test's database."""
    return {"LEDGERDESK_DATABASE_URL": settings.database_url, "LEDGERDESK_POSTGRES_SCHEMA": settings.postgres_schema}
