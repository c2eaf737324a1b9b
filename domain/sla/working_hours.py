"""The parts of a business calendar: weekly working intervals and holidays, checked, and their stored form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Final

from domain.errors import InvalidValueError

#: The end of an interval that runs until midnight ("24:00" in the stored form).
END_OF_DAY: Final = time.max
INTERVALS_MAX: Final = 70
HOLIDAYS_MAX: Final = 2000
HOLIDAY_NAME_MAX: Final = 200

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MIDNIGHT_TEXT = "24:00"

#: A weekday's working hours as (start, end) offsets from local midnight, in order.
DayBounds = tuple[tuple[timedelta, timedelta], ...]


@dataclass(frozen=True, slots=True)
class WorkingInterval:
    """Working hours on one weekday, from `start` up to (not including) `end`, in local wall-clock time.

    `end=END_OF_DAY` means "until midnight"; any other end is taken literally.
    """

    weekday: int  # 0 = Monday ... 6 = Sunday
    start: time
    end: time

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            msg = f"an interval's weekday must be 0 (Monday) to 6 (Sunday) (got {self.weekday!r})"
            raise InvalidValueError(msg)
        for bound in (self.start, self.end):
            if not isinstance(bound, time) or bound.tzinfo is not None:
                msg = f"an interval's start and end must be local times of day without a time zone (got {bound!r})"
                raise InvalidValueError(msg)
        if _start_offset(self.start) >= _end_offset(self.end):
            msg = f"a working interval must start before it ends (got {self}); an end of 24:00 works until midnight"
            raise InvalidValueError(msg)

    @property
    def ends_at_midnight(self) -> bool:
        """Whether the interval runs until the end of its day."""
        return self.end == END_OF_DAY

    def __str__(self) -> str:
        return f"{_WEEKDAYS[self.weekday]} {_time_text(self.start)}-{_end_text(self.end)}"

    def as_dict(self) -> dict[str, Any]:
        """The stored form: local times written HH:MM (24:00 until midnight)."""
        return {"weekday": self.weekday, "start": _time_text(self.start), "end": _end_text(self.end)}

    @classmethod
    def from_dict(cls, data: object) -> WorkingInterval:
        """An interval from its stored form (or from client input: every part is validated)."""
        fields = object_fields(data, "a working interval", required={"weekday", "start", "end"}, optional=set())
        end = END_OF_DAY if fields["end"] == _MIDNIGHT_TEXT else _parse_time(fields["end"])
        return cls(fields["weekday"], _parse_time(fields["start"]), end)


@dataclass(frozen=True, slots=True)
class Holiday:
    """A whole local day without working time; a yearly one recurs on its month and day from its year on."""

    day: date
    yearly: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.day, date) or isinstance(self.day, datetime):
            msg = f"a holiday's day must be a date (got {self.day!r})"
            raise InvalidValueError(msg)
        if not isinstance(self.yearly, bool):
            msg = f"a holiday's 'yearly' must be true or false (got {self.yearly!r})"
            raise InvalidValueError(msg)
        if not isinstance(self.name, str) or len(self.name) > HOLIDAY_NAME_MAX:
            msg = f"a holiday's name must be text of at most {HOLIDAY_NAME_MAX} characters (got {self.name!r})"
            raise InvalidValueError(msg)

    def as_dict(self) -> dict[str, Any]:
        """The stored form: the day as an ISO-8601 date."""
        return {"day": self.day.isoformat(), "yearly": self.yearly, "name": self.name}

    @classmethod
    def from_dict(cls, data: object) -> Holiday:
        """A holiday from its stored form (or from client input: every part is validated)."""
        fields = object_fields(data, "a holiday", required={"day"}, optional={"yearly", "name"})
        day = fields["day"]
        try:
            parsed = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            msg = f"a holiday's day must be an ISO-8601 date such as 2026-12-25 (got {day!r})"
            raise InvalidValueError(msg)
        return cls(parsed, fields.get("yearly", False), fields.get("name", ""))


def checked_intervals(intervals: Iterable[WorkingInterval]) -> tuple[WorkingInterval, ...]:
    """The intervals as a tuple, if there are 1 to INTERVALS_MAX of them and none overlap; else raise."""
    result = tuple(intervals)
    if not result:
        msg = "a business calendar needs at least one working interval"
        raise InvalidValueError(msg)
    _check_parts(result, WorkingInterval, INTERVALS_MAX, "working intervals", "intervals")
    ordered = sorted(result, key=lambda i: (i.weekday, _start_offset(i.start)))
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and _end_offset(earlier.end) > _start_offset(later.start):
            msg = f"working intervals overlap: {earlier} and {later}"
            raise InvalidValueError(msg)
    return result


def checked_holidays(holidays: Iterable[Holiday]) -> tuple[Holiday, ...]:
    """The holidays as a tuple, if there are at most HOLIDAYS_MAX of them; else raise."""
    result = tuple(holidays)
    _check_parts(result, Holiday, HOLIDAYS_MAX, "holidays", "holidays")
    return result


def _check_parts(parts: tuple[object, ...], kind: type, most: int, many: str, field: str) -> None:
    """Raise unless there are at most `most` parts, each a `kind` (`many`: what they are; `field`: where)."""
    if len(parts) > most:
        msg = f"a business calendar may have at most {most} {many} (got {len(parts)})"
        raise InvalidValueError(msg)
    if not all(isinstance(part, kind) for part in parts):
        msg = f"a business calendar's {field} must be {kind.__name__} values"
        raise InvalidValueError(msg)


def weekly_bounds(intervals: Iterable[WorkingInterval]) -> tuple[DayBounds, ...]:
    """For each weekday, its intervals in order as (start, end) offsets from local midnight."""
    by_day: list[list[tuple[timedelta, timedelta]]] = [[] for _ in range(7)]
    for interval in intervals:
        bounds = (_start_offset(interval.start), _end_offset(interval.end))
        by_day[interval.weekday].append(bounds)
    return tuple(tuple(sorted(day)) for day in by_day)


def object_fields(data: object, what: str, *, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    """`data` if it is a mapping with all `required` keys and no keys beyond `optional`; else raise."""
    if not isinstance(data, Mapping):
        msg = f"{what} must be an object (got {type(data).__name__})"
        raise InvalidValueError(msg)
    missing = sorted(required - set(data))
    if missing:
        msg = f"{what} lacks {', '.join(missing)}"
        raise InvalidValueError(msg)
    unknown = sorted(str(key) for key in set(data) - required - optional)
    if unknown:
        msg = f"{what} has unknown fields: {', '.join(unknown)} (allowed: {', '.join(sorted(required | optional))})"
        raise InvalidValueError(msg)
    return data


def _start_offset(start: time) -> timedelta:
    return timedelta(hours=start.hour, minutes=start.minute, seconds=start.second, microseconds=start.microsecond)


def _end_offset(end: time) -> timedelta:
    return timedelta(days=1) if end == END_OF_DAY else _start_offset(end)


def _time_text(moment: time) -> str:
    """09:00, or 09:00:30 / 09:00:30.250000 when there are seconds."""
    return moment.isoformat(timespec="minutes" if not (moment.second or moment.microsecond) else "auto")


def _end_text(end: time) -> str:
    return _MIDNIGHT_TEXT if end == END_OF_DAY else _time_text(end)


def _parse_time(value: object) -> time:
    """A local time of day written as HH:MM, HH:MM:SS or HH:MM:SS.ffffff, or raise."""
    try:
        parsed = time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None:
        msg = f"a time of day must be written HH:MM, HH:MM:SS or 24:00 (got {value!r})"
        raise InvalidValueError(msg)
    return parsed
