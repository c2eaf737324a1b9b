"""C1: SLA calendar arithmetic, in process (no database): the figures the calendar tests leave to a benchmark.

* adding 1,000,000 business minutes (about 48 years of a 40-hour week) to a moment, and counting
  them back, on an office calendar (Monday to Friday, 09:00-12:00 and 13:00-18:00, Europe/Berlin,
  two holidays);
* refusing a due moment more than SPAN_YEARS_MAX years away (10^12 minutes on an always-open
  calendar): the walk stops at the span, so the work is bounded however many minutes are asked for;
* one SLA-sized step: 240 business minutes from a Friday afternoon, as a command pays for it.

Each is repeated and the median reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import BusinessCalendar, Holiday, WorkingInterval
from domain.errors import InvalidValueError

REPEATS = 15
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar(
    "Europe/Berlin",
    tuple(
        WorkingInterval(weekday, start, end)
        for weekday in range(5)
        for start, end in ((clock(9), clock(12)), (clock(13), clock(18)))
    ),
    (Holiday(date(2026, 4, 3), name="Good Friday"), Holiday(date(2025, 12, 25), yearly=True, name="Christmas Day")),
)


def time_calendar() -> list[dict[str, Any]]:
    """C1: milliseconds (median of REPEATS) per calendar operation."""
    start = datetime(2026, 3, 2, 10, tzinfo=BERLIN)
    far = OFFICE.add_business_minutes(start, 1_000_000)
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    return [
        _row("c1_add_1m_business_minutes", lambda: OFFICE.add_business_minutes(start, 1_000_000), target_ms=500.0),
        _row("c1_count_1m_business_minutes", lambda: OFFICE.business_minutes_between(start, far)),
        _row("c1_refuse_due_past_span", _refuse_far_due, target_ms=2000.0),
        _row("c1_add_240_business_minutes", lambda: OFFICE.add_business_minutes(friday, 240)),
    ]


def _refuse_far_due() -> None:
    try:
        BusinessCalendar.always().add_business_minutes(datetime(2026, 3, 2, tzinfo=UTC), 1e12)
    except InvalidValueError:
        return
    msg = "a due moment past the calendar's span was not refused"
    raise RuntimeError(msg)


def _row(name: str, operation: Callable[[], object], *, target_ms: float | None = None) -> dict[str, Any]:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        operation()
        times.append((time.perf_counter() - began) * 1000)
    row: dict[str, Any] = {"name": name, "repeats": REPEATS, "median_ms": round(statistics.median(times), 3)}
    if target_ms is not None:
        row["target_ms"] = target_ms
    return row
