"""The README's tour, docs/tour.sh, run as a reader runs it: against a real `ledgerdesk serve`."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support.processes import CLI
from tests.support.processes import free_port as _free_port
from tests.support.processes import wait_healthy as _wait_healthy

TOUR = Path(__file__).resolve().parents[2] / "docs" / "tour.sh"


def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    # The server and the tour's `ledgerdesk` commands (keys, erasure, audit) share one database, as
    # `make run` and `bash docs/tour.sh` share ./var/ledgerdesk.sqlite.
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'ledgerdesk.sqlite'}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base, log_path)
        tour = subprocess.run(
            ["bash", str(TOUR)],
            check=False,
            env={**env, "LEDGERDESK_URL": base},
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert tour.returncode == 0, f"{tour.stdout[-4000:]}\n{tour.stderr}\n{log_path.read_text()[-2000:]}"
    assert tour.stdout.rstrip().endswith("tour: every step answered as expected")
