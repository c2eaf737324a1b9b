"""Workload (`agent_solved_daily`): how many tickets each agent solved on each UTC day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Workload:
    """An agent's current load (unsolved tickets by status category, from the ticket rows) and recent output."""

    agent: str
    by_status: dict[str, int]
    solved_per_day: list[tuple[date, int]] = field(default_factory=list)
