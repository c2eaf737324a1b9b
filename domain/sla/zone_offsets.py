"""Time zones as business time reads them: a zone by name, the days its offset changes, what a wall time means.

`zone` finds a zone by its IANA name; `next_shift` the next local day near a change of its UTC
offset; `wall_moment` the moment a local wall-clock time stands for (the rule: domain/sla/calendar.py).

Offset changes are found by reading the zone's offset at every UTC midnight of a year, once per
zone and year (cached): a change and its reverse less than a day apart would be missed, and the
time-zone database has none (the closest pair is four days apart, Africa/Freetown 1939; a test
checks the installed database).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidValueError
from domain.sla.microseconds import EPOCH, EPOCH_ORDINAL, ONE_US

#: Days around a change of UTC offset that are walked one by one: those whose spans may lie near the change.
#: A day's spans, and every offset read for them, lie within a day either side of its midnight read as UTC: a change
#: within the UTC day k touches only the local days k - 1 to k + 1.
_SHIFT_DAYS_BEFORE, _SHIFT_DAYS_AFTER = 1, 1
#: Years whose offset changes are not searched (their midnights border the range of datetime): walked day by day.
_FIRST_SEARCHED_YEAR, _LAST_SEARCHED_YEAR = date.min.year + 1, date.max.year - 1


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or raise."""
    if not isinstance(name, str) or not name:
        msg = f"a business calendar's time zone must be an IANA name such as 'Europe/Berlin' (got {name!r})"
        raise InvalidValueError(msg)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'"
        raise InvalidValueError(msg) from None


def next_shift(zone: ZoneInfo, ordinal: int, bound: int) -> int:
    """The first local day in [ordinal, bound) near a change of the zone's UTC offset, or `bound`."""
    first_year = date.fromordinal(max(ordinal - _SHIFT_DAYS_AFTER, 1)).year
    last_year = date.fromordinal(min(bound + _SHIFT_DAYS_BEFORE, date.max.toordinal())).year
    for year in range(first_year, last_year + 1):
        shifts = offset_changes(zone, year)
        if shifts is None:
            return ordinal  # a year at the edge of the calendar: walked day by day
        for day in shifts:
            near_from, near_to = day - _SHIFT_DAYS_BEFORE, day + _SHIFT_DAYS_AFTER
            if near_to >= ordinal:
                return max(ordinal, min(near_from, bound))
    return bound


@lru_cache(maxsize=8192)
def offset_changes(zone: ZoneInfo, year: int) -> tuple[int, ...] | None:
    """The days (as ordinals, UTC) of `year` within which the zone's offset changes; None for an edge year.

    The offset is read at every UTC midnight from 1 January of `year` to 1 January of the next; a change between
    two readings is put on the earlier day (see the module docs for why daily readings find every change).
    """
    if not _FIRST_SEARCHED_YEAR <= year <= _LAST_SEARCHED_YEAR:
        return None
    first, last = date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()
    seconds = (first - EPOCH_ORDINAL) * 86_400
    offsets = [datetime.fromtimestamp(seconds + 86_400 * i, zone).utcoffset() for i in range(last - first + 1)]
    return tuple(first + i for i, (one, other) in enumerate(pairwise(offsets)) if one != other)


def wall_moment(zone: ZoneInfo, local_midnight: datetime, midnight: int, time_of_day: timedelta) -> int:
    """The first moment at which the clocks read local midnight + `time_of_day` or later, in microseconds.

    `local_midnight` is the day's 00:00 in `zone`; `midnight` is that 00:00 read as if it were UTC.
    """
    wall = local_midnight + time_of_day  # wall-clock arithmetic: the zone is kept, fold is 0
    wall_us = midnight + time_of_day // ONE_US
    first = _offset_us(wall)
    second = _offset_us(wall.replace(fold=1))
    if first < second:
        # Only in a gap does the first reading (fold=0) have the smaller offset: this wall time never happens.
        return _moment_clocks_jump(zone, wall_us, first, second)
    return wall_us - first  # ordinary or ambiguous (first occurrence)


def _moment_clocks_jump(zone: ZoneInfo, wall_us: int, before: int, after: int) -> int:
    """The moment the clocks jump over the skipped wall time `wall_us`, found by bisection.

    `wall_us - after` is still before the jump and `wall_us - before` already past it; the jump is the first
    moment whose wall-clock reading is `wall_us` or later.
    """
    low, high = wall_us - after, wall_us - before
    while high - low > 1:
        middle = (low + high) // 2
        reading = middle + _offset_us((EPOCH + timedelta(microseconds=middle)).astimezone(zone))
        if reading >= wall_us:
            high = middle
        else:
            low = middle
    return high


def _offset_us(moment: datetime) -> int:
    """The UTC offset of an aware datetime, in microseconds."""
    return (moment.utcoffset() or timedelta(0)) // ONE_US
