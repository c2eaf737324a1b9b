"""On-site work (上门服务): an agent's visits to where a ticket is served, and what they add up to.

A visit begins when the agent checks in on the ticket and ends when they check out; its moments
are the events' own (the command's clock), so the figures below follow from the ticket's history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OnSite:
    """What a ticket's visits add up to."""

    visits: int
    on_site_now: str | None  # the agent checked in and not out yet, if any
    time_to_arrive_seconds: int | None  # from the dispatch (else the opening) to the first check-in
    time_on_site_seconds: int  # every finished visit, check-in to check-out


def on_site(visits: Sequence[Mapping[str, Any]], *, since: datetime) -> OnSite:
    """The figures of a ticket's visits (`arrived_at`, `left_at`, `agent`), arrival counted from `since`."""
    first = visits[0]["arrived_at"] if visits else None
    finished = [v for v in visits if v["left_at"] is not None]
    return OnSite(
        visits=len(visits),
        on_site_now=next((v["agent"] for v in visits if v["left_at"] is None), None),
        time_to_arrive_seconds=None if first is None else round((first - since).total_seconds()),
        time_on_site_seconds=round(sum((v["left_at"] - v["arrived_at"]).total_seconds() for v in finished)),
    )
