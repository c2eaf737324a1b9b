"""`make bench`: benchmarks of ledgerdesk on PostgreSQL, each against a throw-away database of its own, on 127.0.0.1.

Parts (all by default; `BENCH_ONLY=w1,r1` runs some):

b1     open tickets: `POST /tickets` with one API worker, driven by wrk (keep-alive connections).
w1     write path: the command mix (bench/mix.lua) against `/tickets` and against the plain-SQL baseline
       `/bench-baseline/tickets` of the same server (the product's API plus bench/w1_baseline), 1 and 2
       API workers, `ledgerdesk project` running (bench/write_mix.py).
w2     one command at a time: creates only (`POST /tickets`), then comments only on seeded tickets, each against
       its twin route of W1's baseline on the same server, 1 API worker, `ledgerdesk project` running; the
       ratio per command (bench/single_commands.py).
l1     read-model lag: command -> visible in the read model at a steady rate (bench/lag.py).
a1     aggregate load: `get_ticket` for a ticket of 10 vs 10,000 events (bench/aggregate.py).
p1     projection catch-up: BENCH_EVENTS real events (bench/seed.py) projected from zero to the head
       into a fresh generation, per batch size (bench/catch_up.py), vs a raw batched upsert loop over as
       many rows (bench/baseline.py).
audit  on the p1 log: verify vs raw SHA-256 of the same bytes, export, as-of for 10 vs 10,000 events.
r1     read path: queue pages and searches at BENCH_TICKETS tickets, after projecting them (bench/reads.py).
rt1    routing delay: a ticket opened into a round-robin group -> its assignment visible in the read model,
       at a steady rate, with `ledgerdesk worker --only projections,router` running (bench/routing.py).
tr1    trigger delay: a ticket opened -> the change of a trigger on `created` visible in the read model, at a
       steady rate, with `ledgerdesk worker --only projections,triggers` running (bench/triggers.py).
wh1    webhook delay: a ticket opened -> its signed delivery received by a local receiver, at a steady rate,
       with `ledgerdesk worker --only projections,webhooks` running (bench/webhooks.py).
mi1    e-mail in: messages/s into `ledgerdesk mail-in --listen` over SMTP, each opening a ticket (bench/mail_in.py).
nt1    notification delay: an agent's public reply -> its e-mail accepted by a local SMTP server, at a steady
       rate, with `ledgerdesk worker --only notifications` running (bench/notify.py).
ui1    the ticket page and its history tab for a ticket of BENCH_UI1_EVENTS events, as a signed-in agent's
       browser asks for them, `ledgerdesk serve` with one worker (bench/ticket_page.py).
ui2    the agents' queue page `/` (HTML, signed in) with BENCH_UI2_TICKETS (10,000) open tickets in the agent's
       tenant, each queue and filter in rotation, one worker (bench/ui_queue.py).
ui3    the supervisors' dashboard `/dashboard` (HTML, signed in) with BENCH_UI3_TICKETS (100,000) tickets in the
       supervisor's tenant, the whole tenant and one group in rotation, one worker (bench/dashboard.py).
x1     analyst export: BENCH_X1_EVENTS (100,000) seeded events, projected, exported as Parquet (`events`, every
       tenant's and one tenant's), rows/s and peak memory (bench/exports.py).
bk1    backup and restore: BENCH_BK1_EVENTS (100,000) seeded events backed up and restored into a fresh
       database, events/s vs raw COPY TO/FROM STDIN of the same tables (bench/backups.py).
au1    an auditor's timeline of a ticket of BENCH_AU1_EVENTS (2,000) events: the page, its next events, the
       ticket as it was at a version and at a moment, a diff, signed in, one worker (bench/audit_page.py).
c1     SLA calendar arithmetic in process: a million business minutes, a refused far due moment (bench/calendar.py).
kb1    knowledge-base search p50/p95/p99 at BENCH_KB1_ARTICLES (10,000) articles, half Chinese, on PostgreSQL and
       SQLite, in process against the read model (bench/knowledge.py).
kb2    the CJK tokeniser: precision, recall, speed against FTS5's trigram tokenizer, in memory (bench/tokenisers.py).
s1     suggestions: holdout accuracy of type and group on BENCH_S1_TICKETS (5,000) generated tickets in English and
       Chinese, training time, suggestion latency p95 in process and open -> suggested (bench/suggestions.py).

Prints tables, the targets with each measured value's ratio to its target, and writes
bench/results/<name>.json plus bench/results/summary.json (machine notes, targets).
Settings (environment): see docs/performance.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from bench.aggregate import time_get_ticket
from bench.audit import time_as_of, time_export, time_raw_verify_loop, time_verify
from bench.audit_page import bench_audit_page
from bench.backups import bench_backup
from bench.baseline import time_raw_upserts
from bench.calendar import time_calendar
from bench.catch_up import profile_catch_up, time_catch_up
from bench.dashboard import bench_dashboard
from bench.exports import bench_export
from bench.knowledge import bench_knowledge, sqlite_url
from bench.lag import bench_lag
from bench.mail_in import bench_mail_in
from bench.notify import bench_notify
from bench.reads import bench_reads
from bench.routing import bench_routing
from bench.seed import SeedStats, seed, seeding_settings
from bench.server import RESULTS, ROOT, admin, make_key, scratch_database, serve, settle
from bench.single_commands import bench_single_commands
from bench.suggestions import bench_suggestions
from bench.ticket_page import bench_ticket_page
from bench.tokenisers import compare_tokenisers
from bench.triggers import bench_triggers
from bench.ui_queue import bench_queue_page
from bench.webhooks import bench_webhooks
from bench.write_mix import bench_write_mix, env_workers
from infrastructure.composition import build_services
from infrastructure.settings import Settings

PARTS: tuple[str, ...] = (
    *("b1", "w1", "w2", "l1", "a1", "p1", "audit", "r1", "rt1", "tr1", "wh1", "mi1", "nt1", "ui1", "ui2", "x1", "c1"),
    "bk1",
    "ui3",
    "kb1",
    "kb2",
    "au1",
    "s1",
)
DEFAULT_EVENTS = 1_000_000
DEFAULT_TICKETS = "100000"
CATCH_UP_BATCH_SIZES = (1000, 5000)
RAW_ROWS_PER_TRANSACTION = 1000
PROFILE_BATCH_SIZE = 1000
B1_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '{"title": "Printer jam on floor 3", "requester_id": "bob", "tags": ["printer"], "priority": "high"}'
"""


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment."""
    return int(os.environ.get(name, str(default)))


def selected() -> list[str]:
    """The parts BENCH_ONLY names (all when unset), in the order they run."""
    wanted = {p.strip().lower() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()}
    unknown = wanted - set(PARTS)
    if unknown:
        sys.exit(f"bench: unknown part(s) in BENCH_ONLY: {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
    return [p for p in PARTS if not wanted or p in wanted]


# --- b1 -----------------------------------------------------------------------------------------------------


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50, p99 and non-2xx from wrk's --latency output."""

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
    """B1: `POST /tickets` only, one worker, no projection process."""
    services = build_services(Settings(database_url=database_url, db_pool_max=3, pool_size=1))
    try:
        key = make_key(services, tenant="bench")
    finally:
        services.close()
    with serve(database_url, workers=1) as server:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(B1_SCRIPT % key)
        wrk = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            f"{server.base}/tickets",
        ]
        output = subprocess.run(wrk, capture_output=True, text=True, check=True).stdout
        Path(script.name).unlink()
    return {"name": "b1_open_tickets_1_worker", "connections": connections, "seconds": seconds, **parse_wrk(output)}


# --- p1 and audit -----------------------------------------------------------------------------------------


def bench_events(database_url: str, *, events: int, catch_up: bool, audit: bool, profile: bool) -> list[dict[str, Any]]:
    """Seed `events` ticket events; time catch-up into a fresh generation per batch size; then the audit figures."""
    seeding = build_services(seeding_settings(database_url))
    try:
        seeded = seed(seeding.desk, events)
    finally:
        seeding.close()
    settle(database_url)
    results = [seed_result(seeded)]
    # Catch-up with the settings a serving process has (its data-key cache included).
    services = build_services(Settings(database_url=database_url, db_pool_max=5, pool_size=2))
    try:
        # Generation 1 is the serving one (left empty); each run fills a fresh generation of its own.
        for generation, batch_size in enumerate(CATCH_UP_BATCH_SIZES if catch_up else (5000,), start=2):
            results.append(time_catch_up(services, generation, batch_size, seeded))
            settle(database_url)
        if profile:
            print(profile_catch_up(services, 2 + len(CATCH_UP_BATCH_SIZES), PROFILE_BATCH_SIZE))
        if audit:
            services.read_models.generations.switch(2)  # a caught-up generation serves the export
            services.read_models.active_generation(fresh=True)
            results += [*time_verify(services), time_raw_verify_loop(services, database_url)]
            results += [time_export(services, "acme"), time_as_of(services)]
    finally:
        services.close()
    if not catch_up:
        results = [r for r in results if not r["name"].startswith("catch_up_")]
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


def with_ratios(results: list[dict[str, Any]], raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Catch-up results with their rate as a ratio of the raw upsert loop's."""
    for result in results:
        if result["name"].startswith("catch_up_"):
            result["vs_raw_upsert"] = round(result["events_per_s"] / raw["events_per_s"], 3)
            result["raw_upsert_events_per_s"] = raw["events_per_s"]
    return results


# --- a1 -----------------------------------------------------------------------------------------------------


def bench_aggregate(database_url: str) -> list[dict[str, Any]]:
    """A1 with the settings of a serving process."""
    services = build_services(Settings(database_url=database_url))
    try:
        return time_get_ticket(services)
    finally:
        services.close()


# --- tables and targets -----------------------------------------------------------------------------------


def _table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    if not rows:
        return
    cells = [header, *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _command_tables(results: list[dict[str, Any]], part: str, title: str) -> None:
    """W1's and W2's tables: each side's commands/s, its CPU per command, the ratios."""
    mine = [r for r in results if r["name"].startswith(f"{part}_")]
    label = part.upper()
    _table(
        f"{title} (wrk, mean of runs; commands/s = 2xx answers/s)",
        ["benchmark", "workers", "commands/s", "p50 ms", "p99 ms", "non-2xx", "runs (commands/s)"],
        [
            [
                r["name"],
                r["workers"],
                r["commands_per_s"],
                r["p50_ms"],
                r["p99_ms"],
                r["non_2xx"],
                " ".join(str(x) for x in r["commands_per_s_runs"]),
            ]
            for r in mine
            if "side" in r and "commands_per_s" in r
        ],
    )
    _table(
        f"{label} CPU per command (ms; all processes share the machine's cores)",
        ["benchmark", "API workers", "projection", "PostgreSQL", "total"],
        [
            [r["name"], *(c := r["cpu_ms_per_command"]).values(), round(sum(c.values()), 3)]
            for r in mine
            if "cpu_ms_per_command" in r
        ],
    )
    _table(
        f"{label} ratios",
        ["ratio", "value", "target"],
        [[r["name"], r["ratio"], r.get("target")] for r in mine if "ratio" in r],
    )


def print_tables(results: list[dict[str, Any]]) -> None:
    """One table per family of results."""
    by = {r["name"]: r for r in results}
    _table(
        "B1 open tickets (wrk)",
        ["benchmark", "req/s", "p50 ms", "p99 ms", "non-2xx"],
        [
            [r["name"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["non_2xx"]]
            for r in results
            if r["name"] == "b1_open_tickets_1_worker"
        ],
    )
    _command_tables(results, "w1", "W1 command mix")
    _command_tables(results, "w2", "W2 one command at a time, 1 worker, vs its twin route of the baseline")
    _table(
        "L1 command -> read model (ms)",
        ["benchmark", "rate/s", "lag p50", "lag p95", "e2e p50", "e2e p95", "cmd p50", "cmd p95", "api p95", "non-2xx"],
        [
            [
                r["name"],
                r["achieved_rate_per_s"],
                r.get("lag_p50_ms"),
                r.get("lag_p95_ms"),
                r.get("end_to_end_p50_ms"),
                r.get("end_to_end_p95_ms"),
                r.get("command_p50_ms"),
                r.get("command_p95_ms"),
                r.get("api_probe_p95_ms"),
                r["non_2xx"],
            ]
            for r in results
            if r["name"].startswith("l1_")
        ],
    )
    _table(
        "RT1 routing delay, ms (opening answered -> assignment visible)",
        ["benchmark", "rate/s", "delay p50", "delay p95", "e2e p50", "e2e p95", "open p95", "never routed", "spread"],
        [
            [
                r["name"],
                r["achieved_rate_per_s"],
                r.get("routing_delay_p50_ms"),
                r.get("routing_delay_p95_ms"),
                r.get("end_to_end_p50_ms"),
                r.get("end_to_end_p95_ms"),
                r.get("open_p95_ms"),
                r["never_routed"],
                r["most_minus_fewest_per_agent"],
            ]
            for r in results
            if r["name"].startswith("rt1_")
        ],
    )
    _table(
        "TR1 trigger delay, ms (opening answered -> the trigger's change visible)",
        ["benchmark", "rate/s", "delay p50", "delay p95", "e2e p50", "e2e p95", "open p95", "never acted"],
        [
            [
                r["name"],
                r["achieved_rate_per_s"],
                r.get("trigger_delay_p50_ms"),
                r.get("trigger_delay_p95_ms"),
                r.get("end_to_end_p50_ms"),
                r.get("end_to_end_p95_ms"),
                r.get("open_p95_ms"),
                r["never_acted"],
            ]
            for r in results
            if r["name"].startswith("tr1_")
        ],
    )
    _table(
        "WH1 webhook delay, ms (opening answered -> signed delivery received)",
        ["benchmark", "rate/s", "deliveries/s", "delay p50", "delay p95", "delay max", "never", "repeats", "open p95"],
        [
            [
                r["name"],
                r["achieved_rate_per_s"],
                r["deliveries_per_s"],
                r.get("delay_p50_ms"),
                r.get("delay_p95_ms"),
                r.get("delay_max_ms"),
                r["never_delivered"],
                r["repeats"],
                r.get("open_p95_ms"),
            ]
            for r in results
            if r["name"].startswith("wh1_")
        ],
    )
    _table(
        "MI1 e-mail in over SMTP (250 answered only once stored), ms",
        ["benchmark", "messages", "stored", "refused", "msgs/s", "latency p50", "latency p95", "latency max"],
        [
            [
                r["name"],
                r["messages"],
                r["stored"],
                r["refused"],
                r["messages_per_s"],
                r.get("latency_p50_ms"),
                r.get("latency_p95_ms"),
                r.get("latency_max_ms"),
            ]
            for r in results
            if r["name"].startswith("mi1_")
        ],
    )
    _table(
        "NT1 notification delay, ms (reply answered -> e-mail accepted by the SMTP server)",
        ["benchmark", "rate/s", "messages/s", "delay p50", "delay p95", "delay max", "never", "repeats", "reply p95"],
        [
            [
                r["name"],
                r["achieved_rate_per_s"],
                r["messages_per_s"],
                r.get("delay_p50_ms"),
                r.get("delay_p95_ms"),
                r.get("delay_max_ms"),
                r["never_delivered"],
                r["repeats"],
                r.get("reply_p95_ms"),
            ]
            for r in results
            if r["name"].startswith("nt1_")
        ],
    )
    _table(
        "A1 get_ticket, ms per load (median)",
        ["way", "10 events", "10k comments", "ratio", "10k reassignments", "ratio"],
        [
            [
                r["way"],
                r["ms_10_events"],
                r["ms_10000_comment_events"],
                r["ratio_comments"],
                r["ms_10000_reassignment_events"],
                r["ratio_reassignments"],
            ]
            for r in results
            if r["name"].startswith("a1_")
        ],
    )
    _table(
        "P1 seeding, catch-up and raw upserts",
        ["benchmark", "events", "seconds", "events/s", "vs raw"],
        [
            [r["name"], r["events"], r["seconds"], r["events_per_s"], r.get("vs_raw_upsert")]
            for r in results
            if r["name"].startswith(("seed_", "catch_up_", "raw_", "r1_seed", "r1_project", "audit_"))
        ],
    )
    if "as_of_10_vs_10000_events" in by:
        r = by["as_of_10_vs_10000_events"]
        print(f"as-of: 10 events {r['as_of_ms_10']} ms, 10,000 events {r['as_of_ms_10000']} ms ({r['ratio']}x)")
    _table(
        "R1 first page (limit 50), ms",
        ["query", "tickets", "http p50", "http p95", "sql p50", "sql p95"],
        [
            [
                r["name"].removeprefix("r1_").removesuffix(f"_{r['tickets']}_tickets"),
                r["tickets"],
                r["http_p50_ms"],
                r["http_p95_ms"],
                r.get("sql_p50_ms"),
                r.get("sql_p95_ms"),
            ]
            for r in results
            if r["name"].startswith("r1_") and "http_p95_ms" in r
        ],
    )
    _table(
        "UI1 ticket page of a long-lived ticket, ms (signed-in agent, over loopback)",
        ["page", "events", "samples", "p50", "p95", "p99"],
        [
            [r["name"], r["events"], r["samples"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
            for r in results
            if r["name"].startswith("ui1_")
        ],
    )
    _table(
        "UI2 queue page (HTML, signed in), ms",
        ["benchmark", "open tickets", "http p50", "http p95", "read p50", "read p95"],
        [
            [r["name"], r["tickets"], r["http_p50_ms"], r["http_p95_ms"], r.get("read_p50_ms"), r.get("read_p95_ms")]
            for r in results
            if r["name"].startswith("ui2_")
        ],
    )
    _table(
        "UI3 dashboard (HTML, signed in), ms",
        ["benchmark", "tickets", "http p50", "http p95", "slowest chart read p95"],
        [
            [r["name"], r["tickets"], r["http_p50_ms"], r["http_p95_ms"], max(r["read_p95_ms_by_chart"].values())]
            for r in results
            if r["name"].startswith("ui3_")
        ],
    )
    _table(
        "KB1 knowledge-base search, ms (in process, read model)",
        ["benchmark", "articles", "samples", "p50", "p95", "p99", "found"],
        [
            [r["name"], r["articles"], r["samples"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["found_share"]]
            for r in results
            if r["name"].startswith("kb1_")
        ],
    )
    _table(
        "KB2 CJK tokeniser vs FTS5 trigram (random Chinese texts of 300 characters)",
        ["benchmark", "docs", "queries", "precision", "recall", "p50 ms", "index KiB/doc"],
        [
            [r["name"], r["docs"], r["queries"], r["precision"], r["recall"], r["p50_ms"], r["index_kib_per_doc"]]
            for r in results
            if r["name"].startswith("kb2_")
        ],
    )
    _table(
        "AU1 an auditor's timeline of a long-lived ticket, ms (signed in, over loopback)",
        ["page or region", "events", "samples", "p50", "p95", "p99"],
        [
            [r["name"], r["events"], r["samples"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
            for r in results
            if r["name"].startswith("au1_")
        ],
    )
    _table(
        "C1 SLA calendar, ms (median)",
        ["benchmark", "ms", "target ms"],
        [[r["name"], r["median_ms"], r.get("target_ms")] for r in results if r["name"].startswith("c1_")],
    )
    _table(
        "BK1 backup and restore, events/s (ratio: to raw COPY of the same tables)",
        ["benchmark", "events", "seconds", "events/s", "ratio"],
        [
            [r["name"], r["events"], r["seconds"], r["events_per_s"], r.get("vs_raw_copy_out", r.get("vs_raw_copy_in"))]
            for r in results
            if r["name"].startswith("bk1_")
        ],
    )


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of the issue beside what was measured; `ratio` is measured / target (or target / measured
    for upper bounds), so >= 1 means met."""
    by = {r["name"]: r for r in results}
    rows: list[dict[str, Any]] = []

    def add(
        name: str, measured: float | None, target: float, *, at_most: bool = False, unit: str = "", valid: str = ""
    ) -> None:
        if measured is None:
            return
        ratio = (target / measured if measured else float("inf")) if at_most else measured / target
        rows.append(
            {
                "target": name,
                "measured": measured,
                "goal": f"{'<=' if at_most else '>='} {target}{unit}",
                "vs_target": round(ratio, 2),
                "met": ratio >= 1 and not valid,
                "note": valid,
            }
        )

    for workers in (1, 2):
        suffix = f"{workers}_worker{'s' if workers > 1 else ''}"
        row = by.get(f"w1_ratio_vs_baseline_{suffix}")
        add(f"W1 event-sourced / baseline, {workers} worker(s)", row["ratio"] if row else None, 0.9, unit="x")
    row = by.get("w1_scaling_event_sourced_2_vs_1_worker")
    add("W1 event-sourced, 2 workers / 1 worker", row["ratio"] if row else None, 1.6, unit="x")
    for kind in ("create", "comment"):
        row = by.get(f"w2_ratio_{kind}_vs_twin_1_worker")
        add(f"W2 {kind} / twin, 1 worker", row["ratio"] if row else None, 0.8, unit="x")
    sizes = sorted({r["tickets"] for r in results if r["name"].startswith("r1_") and "http_p95_ms" in r})
    for r in results:
        if sizes and "target_p95_ms" in r and r["name"].startswith("r1_") and r["tickets"] == sizes[-1]:
            add(f"R1 {r['name'].removeprefix('r1_')} p95", r["http_p95_ms"], 10.0, at_most=True, unit=" ms")
    catch = [r for r in results if r["name"].startswith("catch_up_") and "vs_raw_upsert" in r]
    if catch:
        best = max(catch, key=lambda r: r["vs_raw_upsert"])
        add(f"P1 catch-up / raw upsert loop ({best['name']})", best["vs_raw_upsert"], 0.8, unit="x")
    row = by.get("audit_verify")
    add("audit verify / raw read-and-chain loop", row.get("vs_raw_loop") if row else None, 0.5, unit="x")
    row = by.get("audit_export_jsonl")
    add("signed export, events/s", row["events_per_s"] if row else None, 50_000.0, unit="/s")
    for lag in (r for r in results if r["name"].startswith("l1_")):
        rate, achieved = lag["target_rate_per_s"], lag["achieved_rate_per_s"]
        short = f"only {achieved:g}/s sustained" if achieved < 0.95 * rate or lag.get("skipped_overloaded") else ""
        name = f"L1 lag p95 (answer -> visible) at {rate:g}/s"
        add(name, lag.get("lag_p95_ms"), 100.0, at_most=True, unit=" ms", valid=short)
    # The service loads tickets through its aggregate cache (on by default); a cold load (first
    # read in a process, or after eviction) reads the latest snapshot plus later events.
    for way, label in (("cache", "as served, cached"), ("snapshots", "cold load")):
        row = by.get(f"a1_get_ticket_{way}")
        for kind, what in (("comments", "comments (state grows)"), ("reassignments", "reassignments")):
            ratio = row[f"ratio_{kind}"] if row else None
            add(f"A1 10k/10 events, {what}, {label}", ratio, 2.0, at_most=True, unit="x")
    for r in results:  # the calendar's own bounds, not the issue's
        if r["name"].startswith("c1_") and "target_ms" in r:
            add(f"C1 {r['name'].removeprefix('c1_')}", r["median_ms"], r["target_ms"], at_most=True, unit=" ms")
    return rows


def print_targets(rows: list[dict[str, Any]]) -> None:
    """The targets table."""
    _table(
        "Targets (vs target >= 1 means met)",
        ["target", "measured", "goal", "vs target", "met", "note"],
        [[r["target"], r["measured"], r["goal"], r["vs_target"], "yes" if r["met"] else "NO", r["note"]] for r in rows],
    )


# --- machine notes ------------------------------------------------------------------------------------------


def machine(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """What the figures were measured on."""

    def first(path: str, pattern: str) -> str:
        try:
            found = re.search(pattern, Path(path).read_text(), re.MULTILINE)
        except OSError:
            return ""
        return found.group(1).strip() if found else ""

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def run(*command: str) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()
        except OSError:
            return ""

    settings = {
        name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
        for name in ("server_version", "shared_buffers", "synchronous_commit", "max_connections")
    }
    return {
        "cpus": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", r"^model name\s*:(.*)$"),
        "memory": first("/proc/meminfo", r"^MemTotal:(.*)$"),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": settings,
        "wrk": run("wrk", "-v").splitlines()[0] if shutil.which("wrk") else None,
        "packages": {p: version(p) for p in ("eventsourcing", "fastapi", "uvicorn", "uvloop", "httptools", "psycopg")},
        "commit": run("git", "rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(run("git", "status", "--porcelain")),
    }


# --- main ---------------------------------------------------------------------------------------------------


Part = Callable[[psycopg.Connection[Any], str, list[str]], list[dict[str, Any]]]


def run_b1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """B1."""
    with scratch_database(conn, user) as url:
        return [
            bench_open_tickets(url, seconds=env_int("BENCH_SECONDS", 15), connections=env_int("BENCH_CONNECTIONS", 8))
        ]


def run_w1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """W1."""
    return bench_write_mix(
        conn,
        user,
        workers=env_workers(),
        seconds=env_int("BENCH_SECONDS", 15),
        connections=env_int("BENCH_CONNECTIONS", 8),
        rounds=max(1, env_int("BENCH_ROUNDS", 2)),
        tickets=env_int("BENCH_W1_TICKETS", 3000),
        profile=os.environ.get("BENCH_PYSPY", "") not in {"", "0"},
    )


def run_w2(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """W2."""
    return bench_single_commands(
        conn,
        user,
        seconds=env_int("BENCH_SECONDS", 15),
        connections=env_int("BENCH_CONNECTIONS", 8),
        rounds=max(1, env_int("BENCH_ROUNDS", 2)),
        tickets=env_int("BENCH_W1_TICKETS", 3000),
        profile=os.environ.get("BENCH_PYSPY", "") not in {"", "0"},
    )


def run_l1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """L1, at each rate of BENCH_L1_RATE."""
    return [
        bench_lag(
            conn,
            user,
            rate=float(rate),
            seconds=env_int("BENCH_L1_SECONDS", 30),
            workers=env_int("BENCH_L1_WORKERS", 2),
            tickets=env_int("BENCH_W1_TICKETS", 3000),
        )
        for rate in os.environ.get("BENCH_L1_RATE", "50,200").split(",")
        if rate.strip()
    ]


def run_a1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """A1."""
    with scratch_database(conn, user) as url:
        return bench_aggregate(url)


def run_p1(conn: psycopg.Connection[Any], user: str, parts: list[str]) -> list[dict[str, Any]]:
    """P1 and/or the audit figures, on one seeded log."""
    events = env_int("BENCH_EVENTS", DEFAULT_EVENTS)
    with scratch_database(conn, user) as url:
        found = bench_events(
            url,
            events=events,
            catch_up="p1" in parts,
            audit="audit" in parts,
            profile=os.environ.get("BENCH_PROFILE", "") not in {"", "0"},
        )
    if "p1" in parts:
        with scratch_database(conn, user) as url:
            raw = time_raw_upserts(url, events, per_transaction=RAW_ROWS_PER_TRANSACTION)
        found = [*with_ratios(found, raw), raw]
    by = {r["name"]: r for r in found}
    if "audit_verify" in by:
        by["audit_verify"]["vs_raw_sha256"] = round(
            by["audit_verify"]["events_per_s"] / by["raw_sha256_same_bytes"]["events_per_s"], 4
        )
        by["audit_verify"]["vs_raw_loop"] = round(
            by["audit_verify"]["events_per_s"] / by["raw_verify_loop"]["events_per_s"], 4
        )
    return found


def run_r1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """R1."""
    sizes = [int(s) for s in os.environ.get("BENCH_TICKETS", DEFAULT_TICKETS).split(",") if s.strip()]
    profile = os.environ.get("BENCH_PYSPY", "") not in {"", "0"}
    return bench_reads(conn, user, sizes=sizes, samples=env_int("BENCH_R1_SAMPLES", 200), profile=profile)


def run_rt1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """RT1, at each rate of BENCH_RT1_RATE."""
    return [
        bench_routing(
            conn,
            user,
            rate=float(rate),
            seconds=env_int("BENCH_RT1_SECONDS", 20),
            agents=env_int("BENCH_RT1_AGENTS", 10),
        )
        for rate in os.environ.get("BENCH_RT1_RATE", "50").split(",")
        if rate.strip()
    ]


def run_tr1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """TR1, at each rate of BENCH_TR1_RATE."""
    seconds = env_int("BENCH_TR1_SECONDS", 20)
    rates = [float(rate) for rate in os.environ.get("BENCH_TR1_RATE", "50").split(",") if rate.strip()]
    return [bench_triggers(conn, user, rate=rate, seconds=seconds) for rate in rates]


def run_wh1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """WH1, at each rate of BENCH_WH1_RATE."""
    return [
        bench_webhooks(conn, user, rate=float(rate), seconds=env_int("BENCH_WH1_SECONDS", 15))
        for rate in os.environ.get("BENCH_WH1_RATE", "50").split(",")
        if rate.strip()
    ]


def run_mi1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """MI1, with each client count of BENCH_MI1_CLIENTS."""
    messages = env_int("BENCH_MI1_MESSAGES", 2000)
    counts = [int(c) for c in os.environ.get("BENCH_MI1_CLIENTS", "1,8").split(",") if c.strip()]
    return [bench_mail_in(conn, user, messages=messages, clients=clients) for clients in counts]


def run_nt1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """NT1, at each rate of BENCH_NT1_RATE."""
    return [
        bench_notify(conn, user, rate=float(rate), seconds=env_int("BENCH_NT1_SECONDS", 15))
        for rate in os.environ.get("BENCH_NT1_RATE", "50").split(",")
        if rate.strip()
    ]


def run_ui1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """UI1."""
    events, samples = env_int("BENCH_UI1_EVENTS", 500), env_int("BENCH_UI1_SAMPLES", 200)
    return bench_ticket_page(conn, user, events=events, samples=samples)


def run_ui2(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """UI2."""
    tickets, samples = env_int("BENCH_UI2_TICKETS", 10_000), env_int("BENCH_UI2_SAMPLES", 200)
    return bench_queue_page(conn, user, tickets=tickets, samples=samples)


def run_ui3(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """UI3."""
    tickets, samples = env_int("BENCH_UI3_TICKETS", 100_000), env_int("BENCH_UI3_SAMPLES", 100)
    return bench_dashboard(conn, user, tickets=tickets, samples=samples)


def run_au1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """AU1."""
    events, samples = env_int("BENCH_AU1_EVENTS", 2_000), env_int("BENCH_AU1_SAMPLES", 100)
    return bench_audit_page(conn, user, events=events, samples=samples)


def run_x1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """X1."""
    with scratch_database(conn, user) as url:
        return bench_export(url, events=env_int("BENCH_X1_EVENTS", 100_000))


def run_bk1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """BK1."""
    with scratch_database(conn, user) as source, scratch_database(conn, user) as target:
        return bench_backup(source, target, events=env_int("BENCH_BK1_EVENTS", 100_000))


def run_c1(_conn: psycopg.Connection[Any], _user: str, _parts: list[str]) -> list[dict[str, Any]]:
    """C1 (no database)."""
    return time_calendar()


def run_kb1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """KB1, on PostgreSQL and on SQLite."""
    articles, samples = env_int("BENCH_KB1_ARTICLES", 10_000), env_int("BENCH_KB1_SAMPLES", 300)
    with scratch_database(conn, user) as url:
        found = bench_knowledge(url, articles=articles, samples=samples)
    return [*found, *bench_knowledge(sqlite_url(), articles=articles, samples=samples)]


def run_kb2(_conn: psycopg.Connection[Any], _user: str, _parts: list[str]) -> list[dict[str, Any]]:
    """KB2 (SQLite in memory)."""
    return compare_tokenisers(docs=env_int("BENCH_KB2_DOCS", 2000))


def run_s1(conn: psycopg.Connection[Any], user: str, _: list[str]) -> list[dict[str, Any]]:
    """S1."""
    with scratch_database(conn, user) as url:
        return bench_suggestions(
            url, tickets=env_int("BENCH_S1_TICKETS", 5000), samples=env_int("BENCH_S1_SAMPLES", 200)
        )


RUNNERS: dict[str, Part] = {
    "b1": run_b1,
    "w1": run_w1,
    "w2": run_w2,
    "l1": run_l1,
    "a1": run_a1,
    "p1": run_p1,
    "r1": run_r1,
    "rt1": run_rt1,
    "tr1": run_tr1,
    "wh1": run_wh1,
    "mi1": run_mi1,
    "nt1": run_nt1,
    "ui1": run_ui1,
    "ui2": run_ui2,
    "x1": run_x1,
    "c1": run_c1,
    "bk1": run_bk1,
    "ui3": run_ui3,
    "kb1": run_kb1,
    "kb2": run_kb2,
    "au1": run_au1,
    "s1": run_s1,
}


def main() -> None:
    """Run the selected parts; print and write their results."""
    parts = selected()
    if {"b1", "w1", "w2"} & set(parts) and shutil.which("wrk") is None:
        sys.exit("bench: b1, w1 and w2 need wrk on PATH (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)")
    conn, user = admin()
    notes = machine(conn)
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    runs = [p for p in parts if p in RUNNERS]
    if "audit" in parts and "p1" not in parts:
        runs.append("p1")  # the audit figures run on the log P1 seeds
    failed: dict[str, str] = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for part in runs:
        print(f"bench: {part} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            found = RUNNERS[part](conn, user, parts)
        except Exception as error:  # one broken part does not lose the others' figures
            traceback.print_exc()
            failed[part] = f"{type(error).__name__}: {error}"
            continue
        finally:
            timings[part] = round(time.monotonic() - began, 1)
        for result in found:
            (RESULTS / f"{result['name']}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        results.extend(found)
    notes["load_average_end"] = os.getloadavg()
    notes["part_seconds"] = timings
    notes["total_seconds"] = round(time.monotonic() - started, 1)
    goals = targets(results)
    summary = {"parts": parts, "failed": failed, "machine": notes, "targets": goals}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print_tables(results)
    print_targets(goals)
    print(
        f"\nmachine: {notes['cpus']} CPUs ({notes['cpu']}), load {notes['load_average']} -> "
        f"{notes['load_average_end']}; PostgreSQL {notes['postgresql']['server_version']}; {notes['wrk']}; "
        f"seconds per part {timings}"
    )
    if failed:
        sys.exit(f"bench: failed parts: {failed}")


if __name__ == "__main__":
    main()
