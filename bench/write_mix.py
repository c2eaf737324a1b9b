"""W1: the write path under a realistic mix of commands, event-sourced vs the plain-SQL baseline, 1 and 2 workers.

For each worker count, a fresh database gets BENCH_W1_TICKETS tickets with real histories (bench/seed.py),
stored twice: as events, and as the same tickets' final state in the baseline's tables (the same
ids, statuses, assignees and comments). Then `ledgerdesk project` starts as in production, and the
product's API with the baseline's routes added (bench/w1_baseline) is served with N workers as
`ledgerdesk serve --workers N` serves it; wrk drives bench/mix.lua against `/tickets` and against
`/bench-baseline/tickets` of that same server, alternately (A B B A ...), so drift on a shared
machine falls on both sides alike. Each side's figure is the mean of its runs.

The mix: open 25%, assign 20%, comment 35%, transition 15%, patch 5%, on the tenant's existing
tickets and on the ones the run opens. Commands per second count 2xx answers only; every other
answer is counted per command and status code and reported beside it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.seed import seed_tickets, seeding_settings
from bench.server import (
    RESULTS,
    ROOT,
    CpuMeter,
    Server,
    make_key,
    project,
    scratch_database,
    serve,
    settle,
    wait_projected,
)
from bench.w1_baseline import router as baseline
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services

MIX_SCRIPT = ROOT / "bench" / "mix.lua"
TENANT = "acme"
EVENT_SOURCED, BASELINE = "event_sourced", "baseline"
SIDES = (EVENT_SOURCED, BASELINE)
PREFIXES = {EVENT_SOURCED: "/tickets", BASELINE: "/bench-baseline/tickets"}
# The product's API plus the baseline's routes (bench/w1_baseline), served as `ledgerdesk serve` serves the API.
SERVE_W1 = [sys.executable, "-m", "bench.w1_baseline"]
OPS = ("open", "assign", "comment", "transition", "patch")
WARMUP_SECONDS = 3
PROFILE_RATE = 97  # samples per second (py-spy)


def bench_write_mix(
    conn: psycopg.Connection[Any],
    user: str,
    *,
    workers: tuple[int, ...],
    seconds: int,
    connections: int,
    rounds: int,
    tickets: int,
    profile: bool,
) -> list[dict[str, Any]]:
    """W1 for each worker count; one result row per (side, worker count), plus the ratios."""
    results: list[dict[str, Any]] = []
    for count in workers:
        with scratch_database(conn, user) as url:
            results += _one_worker_count(
                url,
                workers=count,
                seconds=seconds,
                connections=connections,
                rounds=rounds,
                tickets=tickets,
                profile=profile,
            )
    return [*results, *_ratios(results)]


def _one_worker_count(
    url: str, *, workers: int, seconds: int, connections: int, rounds: int, tickets: int, profile: bool
) -> list[dict[str, Any]]:
    with staged(url, workers=workers, tickets=tickets) as stage:
        files = stage.side_files("mix")
        runs = alternate(stage, files, mix=None, seconds=seconds, connections=connections, rounds=rounds)
        profiles = profile_sides(stage, files, None, "w1", seconds, connections) if profile else {}
        uvloop = uses_uvloop(stage.server)
    plural = "s" if workers > 1 else ""
    return [
        summary(
            f"w1_{side}_{workers}_worker{plural}",
            side,
            workers,
            runs[side],
            stage.existing,
            connections,
            seconds,
            uvloop,
            profiles.get(side),
        )
        for side in SIDES
    ]


@dataclass
class Stage:
    """A seeded database served as W1 serves it: the product's API plus the baseline's routes, `ledgerdesk project`
    running, a key of the tenant, and the tenant's existing tickets in a file ("<id> <status>" a line)."""

    services: Services
    server: Server
    projector: subprocess.Popen[bytes]
    key: str
    ticket_file: str
    existing: int
    scratch: list[str] = field(default_factory=list)

    def side_files(self, tag: str) -> dict[str, str]:
        """A fresh copy of the seeded ticket file per side; each side's runs carry their own tickets forward in it."""
        files = {side: f"{self.ticket_file}.{tag}.{side}" for side in SIDES}
        for path in files.values():
            shutil.copyfile(self.ticket_file, path)
            self.scratch.append(path)
        return files


@contextmanager
def staged(url: str, *, workers: int, tickets: int) -> Iterator[Stage]:
    """Seed `tickets` tickets on both sides, start `ledgerdesk project` and the server with `workers` API workers;
    everything stops, and the ticket files go, afterwards."""
    services = build_services(seeding_settings(url))
    leftovers: list[str] = []
    try:
        ticket_file, existing = _prepare(services, tickets)
        leftovers.append(ticket_file)
        key = make_key(services, tenant=TENANT)
        settle(url)
        with (
            project(url) as projector,
            serve(url, workers=workers, command=SERVE_W1) as server,
        ):
            wait_projected(services)
            yield Stage(services, server, projector, key, ticket_file, existing, scratch=leftovers)
    finally:
        services.close()
        for path in leftovers:
            with contextlib.suppress(OSError):
                Path(path).unlink()


def alternate(
    stage: Stage, files: dict[str, str], *, mix: str | None, seconds: int, connections: int, rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Warm each side up, then wrk runs of `mix` (mix.lua's own when None) in the order A B B A ..., `rounds` per
    side, with the CPU per command of each run and, after each event-sourced run, the projection's catch-up."""
    for side in SIDES:
        run_wrk(stage.server, side, stage.key, files[side], seconds=WARMUP_SECONDS, connections=connections, mix=mix)
    meter = CpuMeter({"api_workers": stage.server.worker_pids(), "projection": [stage.projector.pid]})
    order = [EVENT_SOURCED, BASELINE, BASELINE, EVENT_SOURCED] * ((rounds + 1) // 2)
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for side in order[: 2 * rounds]:
        meter.start()
        run = run_wrk(stage.server, side, stage.key, files[side], seconds=seconds, connections=connections, mix=mix)
        run["cpu_ms_per_command"] = meter.stop(run["commands_ok"])
        if side == EVENT_SOURCED:  # so the projection's backlog does not run into the baseline's next run
            run["projection_backlog_events"], run["projection_drain_s"] = _drain(stage.services)
        runs[side].append(run)
    return runs


def _prepare(services: Services, tickets: int) -> tuple[str, int]:
    """Seed `tickets` tickets as events, mirror them into the baseline tables; write the tenant's ticket file."""
    datastore = services.desk.recorder.datastore  # type: ignore[attr-defined]
    baseline.create_tables(datastore)
    rows: list[tuple[Any, ...]] = []
    comments: list[tuple[Any, ...]] = []

    def mirror(ticket: Ticket) -> None:
        rows.append(_baseline_row(ticket))
        comments.extend(
            (
                ticket.id,
                c.number,
                c.author_id,
                c.author_kind,
                c.public,
                c.body,
                Jsonb(list(c.mentions)),
                Jsonb([]),
                c.at,
            )
            for c in ticket.comments
        )

    seed_tickets(services.desk, tickets, built=mirror)
    tickets_table, comments_table = baseline.TICKETS, baseline.COMMENTS
    columns = baseline.TICKET_COLUMNS
    connect = services.database.connect_kwargs()
    with psycopg.connect(**connect, autocommit=True) as conn, conn.transaction(), conn.cursor() as cursor:  # type: ignore[arg-type]
        cursor.executemany(f"INSERT INTO {tickets_table} ({columns}) VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
        cursor.executemany(
            f"INSERT INTO {comments_table} (ticket_id, number, author_id, author_kind, public, body, mentions, "
            "attachments, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            comments,
        )
    mine = [(row[0], row[10]) for row in rows if row[1] == TENANT]
    with tempfile.NamedTemporaryFile("w", suffix=".tickets", delete=False) as file:
        file.writelines(f"{ticket_id} {status}\n" for ticket_id, status in mine)
    return file.name, len(mine)


def _baseline_row(ticket: Ticket) -> tuple[Any, ...]:
    """The ticket's state as a row of `baseline_tickets`, in the order of `baseline.TICKET_COLUMNS`."""
    return (
        ticket.id,
        ticket.tenant,
        ticket.version,
        ticket.title,
        ticket.description,
        ticket.requester_id,
        getattr(ticket, "requester_name", None),
        getattr(ticket, "requester_email", None),
        ticket.organisation,
        ticket.channel,
        ticket.status,
        ticket.priority.value,
        ticket.priority.rank,
        ticket.ticket_type,
        Jsonb(list(ticket.tags)),
        Jsonb({name: value.as_dict() for name, value in ticket.custom_fields.items()}),
        ticket.group,
        ticket.assignee,
        len(ticket.comments),
        ticket.created_on,
        ticket.modified_on,
    )


def run_wrk(
    server: Server, side: str, key: str, ticket_file: str, *, seconds: int, connections: int, mix: str | None = None
) -> dict[str, Any]:
    """One wrk run of the mix (mix.lua's own, or `mix` as "open:1") against one side; its figures. Leaves the
    tickets' new state in the ticket file."""
    command = [
        "wrk",
        f"-t{connections}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(MIX_SCRIPT),
        server.base,
        "--",
        PREFIXES[side],
        key,
        ticket_file,
        str(connections),
        f"{ticket_file}.next",
        *([mix] if mix else []),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(f"{ticket_file}.next").replace(ticket_file)
    return parse_mix(output)


def parse_mix(output: str) -> dict[str, Any]:
    """The figures the mix script prints in its done() hook."""
    counts = {name: int(n) for name, n in re.findall(r"^MIX (\S+) (\d+)$", output, re.MULTILINE)}
    latency = dict(re.findall(r"(\w+)=([\d.]+)", _line(output, "LATENCY_US")))
    summary = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", _line(output, "SUMMARY"))}
    duration = summary["duration_us"] / 1e6
    ok = sum(n for name, n in counts.items() if name.endswith("_ok"))
    failed = {name: n for name, n in counts.items() if not name.endswith(("_ok", "_sent"))}
    return {
        "seconds": round(duration, 3),
        "requests": summary["requests"],
        "commands_ok": ok,
        "commands_per_s": round(ok / duration, 1),
        "requests_per_s": round(summary["requests"] / duration, 1),
        "p50_ms": float(latency["p50"]) / 1000,
        "p95_ms": float(latency["p95"]) / 1000,
        "p99_ms": float(latency["p99"]) / 1000,
        "non_2xx": sum(failed.values()),
        "non_2xx_by_command": failed,
        "sent_by_command": {op: counts.get(f"{op}_sent", 0) for op in OPS},
        "socket_errors": {k: summary[k] for k in ("connect", "read", "write", "timeout")},
    }


def _line(output: str, tag: str) -> str:
    for line in output.splitlines():
        if line.startswith(tag):
            return line
    msg = f"wrk printed no {tag} line:\n{output}"
    raise RuntimeError(msg)


def _drain(services: Services) -> tuple[int, float]:
    """How far the projection process is behind the log right after a run, and how long it takes to catch up."""
    head = services.desk.recorder.max_notification_id() or 0
    backlog = head - services.read_models.position()
    started = time.perf_counter()
    wait_projected(services)
    return backlog, round(time.perf_counter() - started, 3)


def summary(
    name: str,
    side: str,
    workers: int,
    runs: list[dict[str, Any]],
    existing: int,
    connections: int,
    seconds: int,
    uvloop: bool,
    profile: dict[str, Any] | None,
) -> dict[str, Any]:
    mean = {k: round(statistics.fmean(r[k] for r in runs), 2) for k in ("commands_per_s", "p50_ms", "p95_ms", "p99_ms")}
    cpu = {
        k: round(statistics.fmean(r["cpu_ms_per_command"][k] for r in runs), 3) for k in runs[0]["cpu_ms_per_command"]
    }
    failed: Counter[str] = Counter()
    for run in runs:
        failed.update(run["non_2xx_by_command"])
    row: dict[str, Any] = {
        "name": name,
        "side": side,
        "workers": workers,
        "connections": connections,
        "seconds_per_run": seconds,
        "runs": len(runs),
        "existing_tickets": existing,
        **mean,
        "commands_per_s_runs": [r["commands_per_s"] for r in runs],
        "cpu_ms_per_command": cpu,
        "non_2xx": sum(failed.values()),
        "non_2xx_by_command": dict(failed),
        "requests": sum(r["requests"] for r in runs),
        "uvloop": uvloop,
        "detail": runs,
    }
    if profile:
        row["profile"] = profile
    return row


def _ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """W1's targets: event-sourced vs baseline at each worker count, and 2 workers vs 1 for each side."""
    by = {(r["side"], r["workers"]): r["commands_per_s"] for r in results}
    rows = []
    for workers in sorted({w for _, w in by}):
        if (EVENT_SOURCED, workers) in by and (BASELINE, workers) in by:
            rows.append(
                {
                    "name": f"w1_ratio_vs_baseline_{workers}_worker{'s' if workers > 1 else ''}",
                    "workers": workers,
                    "ratio": round(by[EVENT_SOURCED, workers] / by[BASELINE, workers], 3),
                    "target": 0.9,
                }
            )
    for side in (EVENT_SOURCED, BASELINE):
        if (side, 1) in by and (side, 2) in by:
            rows.append(
                {
                    "name": f"w1_scaling_{side}_2_vs_1_worker",
                    "side": side,
                    "ratio": round(by[side, 2] / by[side, 1], 3),
                    "target": 1.6 if side == EVENT_SOURCED else None,
                }
            )
    return rows


# --- profiles ------------------------------------------------------------------------------------------------


def py_spy() -> str | None:
    """The py-spy executable (beside this Python, or on PATH), if installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile_sides(
    stage: Stage, files: dict[str, str], mix: str | None, label: str, seconds: int, connections: int
) -> dict[str, Any]:
    """One more run of `mix` per side with py-spy sampling every worker; where the workers' time goes."""
    server = stage.server
    spy = py_spy()
    if spy is None:
        print("bench: BENCH_PYSPY is set but py-spy is not installed (.venv/bin/pip install py-spy)", file=sys.stderr)
        return {}
    found: dict[str, Any] = {}
    for side in SIDES:
        outputs, samplers = [], []
        for pid in server.worker_pids():
            out = RESULTS / f"{label}_{side}_{server.workers}w_{pid}.collapsed.txt"
            outputs.append(out)
            samplers.append(
                subprocess.Popen(
                    [
                        *(spy, "record", "-p", str(pid), "-d", str(seconds), "-r", str(PROFILE_RATE)),
                        *("-f", "raw", "-o", str(out), "--threads"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(1)
        run_wrk(server, side, stage.key, files[side], seconds=seconds, connections=connections, mix=mix)
        for sampler in samplers:
            sampler.wait(timeout=seconds + 60)
        found[side] = summarize_profile([o for o in outputs if o.exists()])
    return found


# Where the workers' time goes: the share of samples whose stack holds a frame matching each needle
# (inclusive, so the shares overlap), and the frames most often on top of the stack (self time).
INCLUSIVE = (
    ("ticket command in HelpDesk", "domain/helpdesk.py"),
    ("load ticket: repository.get (snapshot + events)", "Repository.get (eventsourcing/application.py"),
    ("stored -> domain event (decrypt, decode)", "to_domain_event ("),
    ("domain -> stored event (encrypt, encode)", "to_stored_event ("),
    ("data-key lookups", "privacy/datakeys.py"),
    (
        "insert: one call of the append function (lock, insert, chain, commit)",
        "ChainedPostgresApplicationRecorder._append",
    ),
    ("snapshots", "take_snapshot ("),
    ("authenticate the API key", "SqlKeyStore.authenticate"),
    ("response model (TicketPublic)", "TicketPublic"),
    ("baseline command", "w1_baseline/router.py"),
    ("psycopg (all database calls)", "psycopg/"),
    ("waiting on PostgreSQL", "Connection.wait (psycopg/"),
    ("Starlette/FastAPI/uvicorn machinery", "starlette/"),
    ("access log", "logging/__init__.py"),
)


def summarize_profile(
    paths: list[Path], top: int = 15, needles: tuple[tuple[str, str], ...] = INCLUSIVE
) -> dict[str, Any]:
    """Inclusive shares of samples for `needles`, and the top frames by self time, over py-spy raw files."""
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            if _idle(frames):
                continue
            total += count
            leaves[frames[-1]] += count
            for label, needle in needles:
                if any(needle in frame for frame in frames):
                    inclusive[label] += count
    if not total:
        return {}
    return {
        "samples": total,
        "inclusive_pct": {label: round(100 * inclusive[label] / total, 1) for label, _ in needles},
        "top_self_frames_pct": {name: round(100 * n / total, 1) for name, n in leaves.most_common(top)},
        "files": [p.name for p in paths],
    }


def _idle(frames: list[str]) -> bool:
    """Threads waiting for work (thread pools, connection-pool workers, schedulers) and the idle event loop."""
    leaf = frames[-1]
    if leaf.startswith("Runner.run (asyncio/runners.py"):
        return True  # uvloop's loop, in C, waiting for sockets
    waiting = leaf.startswith(("Condition.wait", "Event.wait"))
    return waiting and any(f.startswith(("Queue.get", "Scheduler.run", "Event.wait")) for f in frames[-4:])


def uses_uvloop(server: Server) -> bool:
    """Whether the worker processes have uvloop loaded (uvicorn's `auto` loop picks it when installed)."""
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):
            if "uvloop" in Path(f"/proc/{pid}/maps").read_text():
                return True
    return False


def env_workers() -> tuple[int, ...]:
    """BENCH_W1_WORKERS (default 1,2)."""
    return tuple(int(w) for w in os.environ.get("BENCH_W1_WORKERS", "1,2").split(",") if w.strip())
