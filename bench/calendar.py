"""C1: SLA calendar arithmetic, in process (no database): the figures the calendar tests leave to a benchmark.

* adding 1,000,000 business minutes (about eight years of a 40-hour week) to a moment, and counting
  them back, on an office calendar (Monday to Friday, 09:00-12:00 and 13:00-18:00, Europe/Berlin,
  two holidays); warm (the zone's offset changes already found, as in a running projection) and
  cold (a new calendar object and no offset change known: what the first ticket pays);
* the same for 480 minutes (one working day), the step the million should cost about as much as;
* the cost bombs of issue 13: 5,256,000 minutes (the old largest target) on the office calendar, and
  10,000 minutes on a calendar open one minute a week (a due 192 years away, refused at the
  100-year horizon, which the SLA clock turns into "no due"), and 525,600 minutes on a calendar open all week
  whose yearly holidays leave only 29 February (a valid new definition; also past the horizon), each warm and cold;
* refusing a due moment more than SPAN_YEARS_MAX years away (10^12 minutes on an always-open
  calendar);
* one SLA-sized step: 240 business minutes from a Friday afternoon, as a command pays for it.

Each is repeated and the median reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from domain.sla import zone_offsets
from domain.sla.calendar import BeyondHorizonError, BusinessCalendar
from domain.sla.working_hours import END_OF_DAY, Holiday, WorkingInterval

REPEATS = 15
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_INTERVALS = tuple(
    WorkingInterval(weekday, start, end)
    for weekday in range(5)
    for start, end in ((clock(9), clock(12)), (clock(13), clock(18)))
)
OFFICE_HOLIDAYS = (
    Holiday(date(2026, 4, 3), name="Good Friday"),
    Holiday(date(2025, 12, 25), yearly=True, name="Christmas Day"),
)
OFFICE = BusinessCalendar("Europe/Berlin", OFFICE_INTERVALS, OFFICE_HOLIDAYS)
#: Open one minute a week: a calendar stored before the weekly minimum (60 minutes) was enforced.
MINUTE_A_WEEK = BusinessCalendar("Europe/Berlin", (WorkingInterval(0, clock(9), clock(9, 1)),))
#: Open all week, but every day except 29 February is a yearly holiday: 1,440 minutes every four years.
LEAP_DAYS_ONLY = BusinessCalendar(
    "Europe/Berlin",
    tuple(WorkingInterval(weekday, clock(0), END_OF_DAY) for weekday in range(7)),
    tuple(Holiday(date(2023, 1, 1) + timedelta(days=i), yearly=True) for i in range(365)),
)
START = datetime(2026, 3, 2, 10, tzinfo=BERLIN)


def time_calendar() -> list[dict[str, Any]]:
    """C1: milliseconds (median of REPEATS) per calendar operation."""
    far = OFFICE.add_business_minutes(START, 1_000_000)
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    return [
        _row("c1_add_1m_business_minutes", lambda: OFFICE.add_business_minutes(START, 1_000_000), target_ms=500.0),
        _row("c1_add_1m_business_minutes_cold", lambda: _cold_office().add_business_minutes(START, 1_000_000)),
        _row("c1_count_1m_business_minutes", lambda: OFFICE.business_minutes_between(START, far)),
        _row("c1_add_480_business_minutes", lambda: OFFICE.add_business_minutes(START, 480)),
        _row("c1_add_480_business_minutes_cold", lambda: _cold_office().add_business_minutes(START, 480)),
        _row("c1_bomb_add_5256000_minutes", lambda: OFFICE.add_business_minutes(START, 5_256_000)),
        _row("c1_bomb_add_5256000_minutes_cold", lambda: _cold_office().add_business_minutes(START, 5_256_000)),
        _row("c1_bomb_minute_a_week_10000_minutes", lambda: _no_due(MINUTE_A_WEEK)),
        _row("c1_bomb_minute_a_week_10000_minutes_cold", lambda: _no_due(_cold(MINUTE_A_WEEK))),
        _row("c1_bomb_leap_days_only_525600_minutes", lambda: _no_due(LEAP_DAYS_ONLY, 525_600)),
        _row("c1_bomb_leap_days_only_525600_minutes_cold", lambda: _no_due(_cold(LEAP_DAYS_ONLY), 525_600)),
        _row("c1_refuse_due_past_span", _refuse_far_due, target_ms=2000.0),
        _row("c1_add_240_business_minutes", lambda: OFFICE.add_business_minutes(friday, 240)),
    ]


def _cold(calendar: BusinessCalendar) -> BusinessCalendar:
    """An equal calendar that has walked no day yet, with no offset change of any zone known."""
    zone_offsets.offset_changes.cache_clear()
    return BusinessCalendar(calendar.timezone, calendar.intervals, calendar.holidays)


def _cold_office() -> BusinessCalendar:
    return _cold(OFFICE)


def _no_due(calendar: BusinessCalendar, minutes: int = 10_000) -> None:
    """Minutes whose due moment lies past the horizon, which must be refused (the SLA clock's "no due")."""
    try:
        calendar.add_business_minutes(START, minutes)
    except BeyondHorizonError:
        return
    msg = "a due moment past the horizon was not refused"
    raise RuntimeError(msg)


def _refuse_far_due() -> None:
    try:
        BusinessCalendar.always().add_business_minutes(datetime(2026, 3, 2, tzinfo=UTC), 1e12)
    except BeyondHorizonError:
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
