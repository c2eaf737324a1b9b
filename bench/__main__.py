"""Benchmarks against a throw-away PostgreSQL database, served on loopback.

B1 open tickets: `POST /tickets` with one API worker, driven by wrk (keep-alive connections).
Prints a table and writes bench/results/<name>.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLI = [sys.executable, "-c", "from api.cli import main; main()"]
PG = {"host": "127.0.0.1", "port": 5432}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '{"title": "Printer jam on floor 3", "requester_id": "bob", "tags": ["printer"], "priority": "high"}'
"""


def admin() -> tuple[psycopg.Connection[Any], str]:
    for user in ("root", "postgres"):
        try:
            conn = psycopg.connect(**PG, user=user, dbname="postgres", autocommit=True, connect_timeout=3)
        except psycopg.Error:
            continue
        return conn, user
    sys.exit("bench: no PostgreSQL answers on 127.0.0.1:5432 as root or postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit("bench: the server did not start")


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    latencies = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "p50_ms": ms(latencies["50"]),
        "p99_ms": ms(latencies["99"]),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def bench_open_tickets(database_url: str, *, seconds: int, connections: int) -> dict[str, Any]:
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": database_url}
    made = subprocess.run(
        [*CLI, "keys", "create", "--actor", "bench", "--role", "agent", "--tenant", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "1"],
        env={**env, "LEDGERDESK_POOL_SIZE": "10"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % key)
        wrk = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, f"{base}/tickets"]
        output = subprocess.run(wrk, capture_output=True, text=True, check=True).stdout
        Path(script.name).unlink()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    figures = parse_wrk(output)
    return {"name": "open_tickets_1_worker", "connections": connections, "seconds": seconds, **figures}


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench: needs wrk on PATH (Debian: apt-get install wrk)")
    conn, user = admin()
    name = f"ledgerdesk_bench_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = f"postgresql://{user}@127.0.0.1:5432/{name}"
        results = [bench_open_tickets(url, seconds=int(os.environ.get("BENCH_SECONDS", "10")), connections=8)]
    finally:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"{'benchmark':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for result in results:
        (RESULTS / f"{result['name']}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(
            f"{result['name']:<28}{result['requests_per_s']:>10.0f}{result['p50_ms']:>10.1f}"
            f"{result['p99_ms']:>10.1f}{result['non_2xx']:>10.0f}"
        )


if __name__ == "__main__":
    main()
