"""The `agent_solved_daily` table: DDL and writing (counts add up to the stored ones)."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.sql import Dialect, TableNames


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `agent_solved_daily` table."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.solved} (tenant TEXT NOT NULL, agent TEXT NOT NULL, "
        f"day {d.date_type} NOT NULL, solved INTEGER NOT NULL, PRIMARY KEY (tenant, agent, day))",
    ]


def write(cursor: Any, d: Dialect, n: TableNames, solved: dict[tuple[str, str, date], int]) -> None:
    """Add the batch's solves per (tenant, agent, day) to the stored counts."""
    if not solved:
        return
    d.insert_rows(
        cursor,
        n.solved,
        ("tenant", "agent", "day", "solved"),
        [(tenant, agent, d.day(day), count) for (tenant, agent, day), count in solved.items()],
        f"ON CONFLICT (tenant, agent, day) DO UPDATE SET solved = {n.solved}.solved + excluded.solved",
    )
