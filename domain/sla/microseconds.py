"""Moments as whole microseconds since 1970-01-01 UTC: how business time is counted exactly.

A number of minutes is rounded to the nearest microsecond once; all sums are then integers.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Final

from domain.errors import InvalidValueError

#: Business time is counted over at most this many years (of 365.25 days) at once, which bounds the work per call.
SPAN_YEARS_MAX: Final = 100

US_PER_MINUTE: Final = 60_000_000
US_PER_DAY: Final = 86_400_000_000
SPAN_US_MAX: Final = 36_525 * US_PER_DAY * SPAN_YEARS_MAX // 100
ONE_US: Final = timedelta(microseconds=1)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
#: The last local day walked: its intervals may end at the next midnight, which must still be a datetime.
LAST_DAY_US: Final = (date.max.toordinal() - 1 - EPOCH_ORDINAL) * US_PER_DAY


def microseconds(moment: datetime, what: str) -> int:
    """An aware datetime as microseconds since 1970-01-01 UTC, or raise for anything else."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        msg = f"{what} must be a timezone-aware datetime (got {moment!r})"
        raise InvalidValueError(msg)
    return (moment - EPOCH) // ONE_US


def span(start: datetime, end: datetime) -> tuple[int, int]:
    """Two aware datetimes as microseconds, if at most SPAN_YEARS_MAX apart; else raise."""
    begin_at, end_at = microseconds(start, "start"), microseconds(end, "end")
    if end_at - begin_at > SPAN_US_MAX:
        msg = f"business time is counted over at most {SPAN_YEARS_MAX} years ({start.isoformat()} to {end.isoformat()})"
        raise InvalidValueError(msg)
    return begin_at, end_at


def moment(at: int) -> datetime:
    """`at` microseconds since 1970-01-01 UTC as an aware UTC datetime, or raise beyond the year 9999."""
    try:
        return EPOCH + timedelta(microseconds=at)
    except OverflowError:
        msg = "the resulting moment is outside the years 1 to 9999"
        raise InvalidValueError(msg) from None


def minutes_as_microseconds(minutes: float) -> int:
    """A non-negative, finite number of minutes, rounded to whole microseconds."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes) or minutes < 0:
        msg = f"business minutes must be a finite number of at least 0 (got {minutes!r})"
        raise InvalidValueError(msg)
    return round(minutes * US_PER_MINUTE)
