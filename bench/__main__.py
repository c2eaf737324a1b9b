"""Benchmarks, each against a throw-away PostgreSQL database of its own, on loopback.

B1 open tickets: `POST /tickets` with one API worker, driven by wrk (keep-alive connections).
P1 projection catch-up: BENCH_EVENTS (default 200,000) real ticket events are seeded through the
   event store (bench/seed.py), then the projection worker brings a fresh, empty generation of the
   read models from zero to the log's head, once per batch size (bench/catch_up.py).
P0 raw baseline: a plain psycopg batched upsert loop over as many rows (bench/baseline.py), so
   catch-up can be stated as a ratio of it.
Prints two tables and writes bench/results/<name>.json. BENCH_PROFILE=1 also prints a cProfile
of one more catch-up run.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from psycopg import sql

from bench.audit import time_as_of, time_export, time_verify
from bench.baseline import time_raw_upserts
from bench.catch_up import profile_catch_up, time_catch_up
from bench.seed import SeedStats, seed
from infrastructure.composition import build_services
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLI = [sys.executable, "-c", "from api.cli import main; main()"]
PG: dict[str, Any] = {"host": "127.0.0.1", "port": 5432}
DEFAULT_EVENTS = 200_000
CATCH_UP_BATCH_SIZES = (1000, 5000)
RAW_ROWS_PER_TRANSACTION = 1000
PROFILE_BATCH_SIZE = 1000
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


def bench_seed_and_catch_up(database_url: str, *, events: int, profile: bool) -> list[dict[str, Any]]:
    """Seed `events` ticket events, then time catch-up into a fresh generation per batch size."""
    services = build_services(Settings(database_url=database_url, pool_size=2, max_overflow=2))
    try:
        seeded = seed(services.desk, events)
        settle(database_url)
        results = [seed_result(seeded)]
        # Generation 1 is the serving one (left empty); each run fills a fresh generation of its own.
        for generation, batch_size in enumerate(CATCH_UP_BATCH_SIZES, start=2):
            results.append(time_catch_up(services, generation, batch_size, seeded))
            settle(database_url)
        if profile:
            print(profile_catch_up(services, 2 + len(CATCH_UP_BATCH_SIZES), PROFILE_BATCH_SIZE))
        services.read_models.generations.switch(2)  # a caught-up generation serves the export
        services.read_models.active_generation(fresh=True)
        results += [*time_verify(services), time_export(services, "acme"), time_as_of(services)]
    finally:
        services.close()
    return results


def seed_result(seeded: SeedStats) -> dict[str, Any]:
    """The seeding run as a result row."""
    return {
        "name": "seed_ticket_events",
        "events": seeded.events,
        "tickets": seeded.tickets,
        "transactions": seeded.transactions,
        "seconds": round(seeded.seconds, 3),
        "store_seconds": round(seeded.store_seconds, 3),
        "events_per_s": round(seeded.events_per_s, 1),
    }


def settle(database_url: str) -> None:
    """VACUUM ANALYZE and CHECKPOINT, so each timed run starts from the same quiet state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):  # without it, only a little noisier
            conn.execute("CHECKPOINT")


def with_ratios(results: list[dict[str, Any]], raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Catch-up results with their rate as a ratio of the raw upsert loop's."""
    for result in results:
        if result["name"].startswith("catch_up_"):
            result["vs_raw_upsert"] = round(result["events_per_s"] / raw["events_per_s"], 3)
            result["raw_upsert_events_per_s"] = raw["events_per_s"]
    return results


@contextmanager
def scratch_database(conn: psycopg.Connection[Any], user: str) -> Iterator[str]:
    """A new, empty database on 127.0.0.1, dropped afterwards; yields its URL."""
    name = f"ledgerdesk_bench_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://{user}@127.0.0.1:5432/{name}"
    finally:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def print_http_table(results: list[dict[str, Any]]) -> None:
    print(f"{'benchmark':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for result in results:
        print(
            f"{result['name']:<28}{result['requests_per_s']:>10.0f}{result['p50_ms']:>10.1f}"
            f"{result['p99_ms']:>10.1f}{result['non_2xx']:>10.0f}"
        )


def print_events_table(results: list[dict[str, Any]]) -> None:
    print(f"{'benchmark':<28}{'events':>10}{'seconds':>10}{'events/s':>10}{'vs raw':>10}")
    for result in results:
        if "events" not in result:
            print(
                f"{result['name']:<28} 10 events: {result['as_of_ms_10']} ms, 10,000 events: "
                f"{result['as_of_ms_10000']} ms ({result['ratio']}x)"
            )
            continue
        ratio = f"{result['vs_raw_upsert']:.2f}x" if "vs_raw_upsert" in result else ""
        print(
            f"{result['name']:<28}{result['events']:>10}{result['seconds']:>10.1f}"
            f"{result['events_per_s']:>10.0f}{ratio:>10}"
        )


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench: needs wrk on PATH (Debian: apt-get install wrk)")
    events = int(os.environ.get("BENCH_EVENTS", str(DEFAULT_EVENTS)))
    profile = os.environ.get("BENCH_PROFILE", "") not in {"", "0"}
    conn, user = admin()
    with scratch_database(conn, user) as url:
        http = [bench_open_tickets(url, seconds=int(os.environ.get("BENCH_SECONDS", "10")), connections=8)]
    with scratch_database(conn, user) as url:
        projection = bench_seed_and_catch_up(url, events=events, profile=profile)
    with scratch_database(conn, user) as url:
        raw = time_raw_upserts(url, events, per_transaction=RAW_ROWS_PER_TRANSACTION)
    projection = [*with_ratios(projection, raw), raw]
    verify, sha = (
        next(r for r in projection if r["name"] == "audit_verify"),
        next(r for r in projection if r["name"] == "raw_sha256_same_bytes"),
    )
    verify["vs_raw_sha256"] = round(verify["events_per_s"] / sha["events_per_s"], 4)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for result in [*http, *projection]:
        (RESULTS / f"{result['name']}.json").write_text(json.dumps(result, indent=2) + "\n")
    print_http_table(http)
    print()
    print_events_table(projection)


if __name__ == "__main__":
    main()
