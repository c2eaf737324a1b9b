"""What a schedule does with occurrences it missed (its runner was stopped, or behind), and in what steps.

An occurrence is *missed* when the runner first sees it more than `late` after its moment; one
seen earlier is *on time* and always opens. Of missed ones, `all` opens every one, `latest` only
the most recent (the others are skipped), `none` skips them all.

Each step opens one occurrence (or none) and records the occurrences skipped before it, in one
save, so a schedule's record moves forward step by step and a crash between two steps loses and
repeats nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CatchUp(StrEnum):
    """What to do with missed occurrences."""

    ALL = "all"
    LATEST = "latest"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Step:
    """Occurrences to skip, then the one to open (None: only skip)."""

    skipped: tuple[datetime, ...]
    opened: datetime | None


def steps(occurrences: Sequence[datetime], *, now: datetime, late: timedelta, mode: CatchUp) -> list[Step]:
    """The steps that deal with `occurrences` (in order, none after `now`) as `mode` says."""
    if not occurrences:
        return []
    if mode is CatchUp.ALL:
        return [Step((), moment) for moment in occurrences]
    missed = tuple(moment for moment in occurrences if now - moment > late)
    on_time = [Step((), moment) for moment in occurrences[len(missed) :]]
    if not missed:
        return on_time
    if mode is CatchUp.LATEST:
        return [Step(missed[:-1], missed[-1]), *on_time]
    if not on_time:
        return [Step(missed, None)]
    return [Step(missed, on_time[0].opened), *on_time[1:]]
