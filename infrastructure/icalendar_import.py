"""Holidays from an iCalendar (.ics) file, such as a public-holiday calendar exported from a calendar app.

Only all-day events count (DTSTART is a DATE); events with a time of day and cancelled events are skipped. An
event covers its DTSTART up to, not including, its DTEND (a DATE), or DURATION whole days, or one day when it has
neither; each day covered becomes a `Holiday` named after the SUMMARY (cut to HOLIDAY_NAME_MAX characters).
`RRULE:FREQ=YEARLY` makes those holidays yearly (each day recurs on its own month and day from the event's year on);
with COUNT or UNTIL, the listed occurrences become dated holidays instead. Besides FREQ=YEARLY a rule may only say
what it already implies (INTERVAL=1, the event's own BYMONTH and BYMONTHDAY, WKST).

Anything else raises InvalidValueError with a one-line message: text that is not one VCALENDAR, an event without a
readable DTSTART, an end before the start, an event longer than EVENT_DAYS_MAX days, other recurrence rules (such
as "fourth Thursday of November"), RDATE or EXDATE, an event beyond the year 9999, or more than HOLIDAYS_MAX
holidays in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import count, islice
from typing import Any

from icalendar import Calendar, Component
from icalendar.error import InvalidCalendar

from domain.errors import InvalidValueError
from domain.sla.working_hours import HOLIDAY_NAME_MAX, HOLIDAYS_MAX, Holiday

EVENT_DAYS_MAX = 366
_IMPLIED_RULE_PARTS = {"FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "WKST", "COUNT", "UNTIL"}


def holidays_from_ics(data: bytes | str) -> tuple[Holiday, ...]:
    """The holidays in iCalendar text, in the order of the file's events."""
    try:
        holidays = [holiday for event in _calendar(data).walk("VEVENT") for holiday in _holidays_of(event)]
    except OverflowError:  # an event that runs past 9999-12-31
        msg = "the iCalendar file has an event that reaches beyond the year 9999"
        raise InvalidValueError(msg) from None
    if len(holidays) > HOLIDAYS_MAX:
        msg = f"the iCalendar file holds more than {HOLIDAYS_MAX} holiday days"
        raise InvalidValueError(msg)
    return tuple(holidays)


def _calendar(data: bytes | str) -> Component:
    """The one VCALENDAR in `data`, or raise."""
    if not isinstance(data, bytes | str):
        msg = f"iCalendar data must be bytes or text (got {type(data).__name__})"
        raise InvalidValueError(msg)
    # Always hand the parser bytes: given a one-line str, icalendar would try it as a file path and read that file.
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    try:
        components = Calendar.from_ical(raw, multiple=True)
    except ValueError as error:  # icalendar reports unreadable content this way
        msg = f"not a readable iCalendar file: {_one_line(error)}"
        raise InvalidValueError(msg) from None
    if len(components) != 1 or components[0].name != "VCALENDAR":
        msg = "an iCalendar file must hold exactly one VCALENDAR"
        raise InvalidValueError(msg)
    return components[0]


def _holidays_of(event: Component) -> list[Holiday]:
    """The holidays one VEVENT stands for (none for a timed or cancelled event)."""
    name = str(event.get("SUMMARY", ""))[:HOLIDAY_NAME_MAX]
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return []
    start = _date_property(event, "DTSTART", name)
    if start is None:
        msg = f"event {name!r} has no DTSTART"
        raise InvalidValueError(msg)
    if isinstance(start, datetime):
        return []  # a meeting, not a day off
    for part in ("RDATE", "EXDATE"):
        if part in event:
            msg = f"event {name!r} uses {part}, which holiday import does not support"
            raise InvalidValueError(msg)
    days = _length_in_days(event, start, name)
    rule = event.get("RRULE")
    if rule is None:
        return [Holiday(start + timedelta(days=n), name=name) for n in range(days)]
    parts = _yearly_rule(rule, start, name)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return [Holiday(start + timedelta(days=n), yearly=True, name=name) for n in range(days)]
    # Enough occurrences to tell "too many holidays" apart, however far COUNT or UNTIL reaches.
    occurrences = islice(_limited(_yearly_occurrences(start), parts, name), HOLIDAYS_MAX // days + 1)
    return [Holiday(first + timedelta(days=n), name=name) for first in occurrences for n in range(days)]


def _date_property(event: Component, key: str, name: str) -> date | datetime | None:
    """A DATE or DATE-TIME property's value, None when absent, or raise when it cannot be read."""
    if key not in event:
        return None
    value = _decoded(event, key)
    if not isinstance(value, date):
        msg = f"event {name!r} has an unreadable {key}"
        raise InvalidValueError(msg)
    return value


def _decoded(event: Component, key: str) -> object:
    """A present property's value as Python (a date, a timedelta, ...), or None when it cannot be read."""
    try:
        return getattr(event[key], "dt", None)
    except InvalidCalendar:  # icalendar keeps unparsable values and raises on access
        return None


def _length_in_days(event: Component, start: date, name: str) -> int:
    """How many days an all-day event covers: from DTEND or DURATION, else one."""
    end = _date_property(event, "DTEND", name)
    if isinstance(end, datetime):
        msg = f"event {name!r} starts on a date but ends at a time of day"
        raise InvalidValueError(msg)
    if end is not None and end < start:
        msg = f"event {name!r} ends before it starts"
        raise InvalidValueError(msg)
    if end is not None:
        # RFC 5545 wants DTEND after DTSTART; some producers write the same date for a one-day event.
        days = max((end - start).days, 1)
    elif "DURATION" in event:
        days = _duration_in_days(event, name)
    else:
        days = 1
    if not 1 <= days <= EVENT_DAYS_MAX:
        msg = f"event {name!r} must last 1 to {EVENT_DAYS_MAX} whole days (got {days})"
        raise InvalidValueError(msg)
    return days


def _duration_in_days(event: Component, name: str) -> int:
    duration = _decoded(event, "DURATION")
    if not isinstance(duration, timedelta) or duration % timedelta(days=1):
        msg = f"an all-day event's DURATION must be whole days (event {name!r})"
        raise InvalidValueError(msg)
    return duration.days


def _yearly_rule(rule: Any, start: date, name: str) -> dict[str, list[Any]]:
    """The parts of a plain yearly RRULE, or raise for any rule that is not one."""
    if isinstance(rule, list):
        msg = f"event {name!r} has several RRULEs, which holiday import does not support"
        raise InvalidValueError(msg)
    try:
        parts = {str(key).upper(): list(values) for key, values in dict(rule).items()}
    except InvalidCalendar:  # icalendar keeps unparsable values and raises on access
        msg = f"event {name!r} has an unreadable RRULE"
        raise InvalidValueError(msg) from None
    implied = (
        parts.get("FREQ") == ["YEARLY"]
        and set(parts) <= _IMPLIED_RULE_PARTS
        and _whole_numbers(parts.get("INTERVAL", [1])) == [1]
        and _whole_numbers(parts.get("BYMONTH", [start.month])) == [start.month]
        and _whole_numbers(parts.get("BYMONTHDAY", [start.day])) == [start.day]
        and not ("COUNT" in parts and "UNTIL" in parts)
    )
    if not implied:
        text = ";".join(f"{key}={','.join(str(v) for v in values)}" for key, values in parts.items())
        msg = f"event {name!r} recurs by RRULE {text}; only FREQ=YEARLY on the event's own date is supported"
        raise InvalidValueError(msg)
    return parts


def _whole_numbers(values: list[Any]) -> list[int] | None:
    try:
        return [int(value) for value in values]
    except (TypeError, ValueError):
        return None


def _yearly_occurrences(start: date) -> Iterator[date]:
    """`start` on its month and day in its year and each later year (29 February only in leap years)."""
    for year in count(start.year):
        if year > date.max.year:
            return
        try:
            yield start.replace(year=year)
        except ValueError:  # 29 February in a common year: no occurrence (RFC 5545 skips invalid dates)
            continue


def _limited(occurrences: Iterator[date], parts: dict[str, list[Any]], name: str) -> Iterator[date]:
    """The occurrences a rule's COUNT or UNTIL allows."""
    if "COUNT" in parts:
        times = _whole_numbers(parts["COUNT"])
        if times is None or len(times) != 1 or times[0] < 1:
            msg = f"event {name!r} has an RRULE COUNT that is not a positive whole number"
            raise InvalidValueError(msg)
        yield from islice(occurrences, times[0])
        return
    until = parts["UNTIL"][0] if len(parts["UNTIL"]) == 1 else None
    if not isinstance(until, date):
        msg = f"event {name!r} has an unreadable RRULE UNTIL"
        raise InvalidValueError(msg)
    last = until.date() if isinstance(until, datetime) else until
    for occurrence in occurrences:
        if occurrence > last:
            return
        yield occurrence


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
