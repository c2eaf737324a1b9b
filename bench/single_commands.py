"""W2: one kind of command at a time, event-sourced vs its twin route of W1's baseline, 1 API worker.

Creates only (`POST /tickets`) and comments only (`POST /tickets/{id}/comments` on the tenant's
seeded tickets), each measured A/B against the same route of the baseline W1 uses
(`/bench-baseline/tickets`, bench/w1_baseline) on the same server, in the order A B B A. Everything
else is W1's (bench/write_mix.py): the seeded database, `ledgerdesk project` running, the server,
bench/mix.lua driven by wrk (with a mix of one command), the CPU per command of every process.
The figure of each command is event-sourced commands/s over the twin's, in one run.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.server import scratch_database
from bench.write_mix import BASELINE, EVENT_SOURCED, SIDES, alternate, profile_sides, staged, summary, uses_uvloop

WORKERS = 1
# Each command's mix for bench/mix.lua: only that command. A comment goes to one of the thread's
# existing tickets; the comment runs never open any, so those are the seeded ones.
KINDS = {"create": "open:1", "comment": "comment:1"}
TARGET = 0.8


def bench_single_commands(
    conn: psycopg.Connection[Any],
    user: str,
    *,
    seconds: int,
    connections: int,
    rounds: int,
    tickets: int,
    profile: bool,
) -> list[dict[str, Any]]:
    """W2 on one fresh database and server: one result row per (command, side), plus one ratio per command."""
    rows: list[dict[str, Any]] = []
    with scratch_database(conn, user) as url, staged(url, workers=WORKERS, tickets=tickets) as stage:
        for kind, mix in KINDS.items():
            files = stage.side_files(kind)  # the seeded tickets again, whatever the runs before did
            runs = alternate(stage, files, mix=mix, seconds=seconds, connections=connections, rounds=rounds)
            profiles = profile_sides(stage, files, mix, f"w2_{kind}", seconds, connections) if profile else {}
            uvloop = uses_uvloop(stage.server)
            for side in SIDES:
                found = summary(
                    f"w2_{kind}_{side}_1_worker",
                    side,
                    WORKERS,
                    runs[side],
                    stage.existing,
                    connections,
                    seconds,
                    uvloop,
                    profiles.get(side),
                )
                rows.append({"command": kind, **found})
    return [*rows, *_ratios(rows)]


def _ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Event-sourced commands/s over the twin's, per command."""
    by = {(r["command"], r["side"]): r["commands_per_s"] for r in rows}
    return [
        {
            "name": f"w2_ratio_{kind}_vs_twin_1_worker",
            "command": kind,
            "workers": WORKERS,
            "ratio": round(by[kind, EVENT_SOURCED] / by[kind, BASELINE], 3) if by[kind, BASELINE] else None,
            "target": TARGET,
        }
        for kind in KINDS
        if (kind, EVENT_SOURCED) in by and (kind, BASELINE) in by
    ]
