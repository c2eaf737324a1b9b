"""When a schedule occurs: an iCalendar RRULE or a cron expression, read in a time zone, from a start to an end.

    {"rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0", "timezone": "Asia/Shanghai",
     "start": "2026-01-01T08:00:00", "end": null}
    {"cron": "0 8 * * MON-FRI", "timezone": "Europe/Berlin", "start": "2026-01-01T00:00:00"}

Start and end are local wall-clock times of the zone (an aware moment given is read in the zone);
an RRULE takes its time of day from the start unless it says BYHOUR and the like. Checked here
with the standard library alone: the zone, start before end, the rule's outline (an RRULE's parts
and FREQ, a cron expression's five fields). The rule's full grammar is the recurrence library's
(`Recurrence.check`, domain/schedules/recurrence.py), refused with the path of the same part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import InvalidRuleError, InvalidValueError
from domain.schedules.wall_clock import local_of
from domain.sla.zone_offsets import zone

RULE_MAX = 500
#: Starts and ends lie between these years: far enough for any help desk, and far from datetime's limits.
FIRST_YEAR, LAST_YEAR = 1970, 2200
#: The parts of an RRULE (RFC 5545 3.3.10) a schedule may use: UNTIL is the schedule's `end`, and
#: occurrences come no oftener than once a minute (a ticket a second is no help desk's wish).
RRULE_PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
FREQUENCIES = ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
CRON_FIELDS = ("minute", "hour", "day_of_month", "month", "day_of_week")


class RuleKind(StrEnum):
    """The language a schedule's rule is written in."""

    RRULE = "rrule"
    CRON = "cron"


@dataclass(frozen=True, slots=True)
class Timing:
    """When a schedule occurs; `start` and `end` are naive local wall-clock times of `timezone`."""

    kind: RuleKind
    rule: str
    timezone: str
    start: datetime
    end: datetime | None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the rule is read in."""
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as events record them."""
        return {
            self.kind.value: self.rule,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timing:
        """From `as_dict` values (as recorded: checked when defined)."""
        kind = RuleKind.RRULE if data.get("rrule") is not None else RuleKind.CRON
        end = data.get("end")
        return cls(
            kind=kind,
            rule=data[kind.value],
            timezone=data["timezone"],
            start=datetime.fromisoformat(data["start"]),
            end=None if end is None else datetime.fromisoformat(end),
        )


def timing(*, rrule: str | None, cron: str | None, timezone: str, start: datetime, end: datetime | None) -> Timing:
    """A schedule's timing from what a caller gave, or InvalidRuleError with the path of the part at fault."""
    if (rrule is None) == (cron is None):
        raise InvalidRuleError("rrule", "give either an RRULE (rrule) or a cron expression (cron), not both")
    try:
        found = zone(timezone)
    except InvalidValueError as error:
        raise InvalidRuleError("timezone", str(error)) from None
    local_start = _local(start, found, "start")
    local_end = None if end is None else _local(end, found, "end")
    if local_end is not None and local_end <= local_start:
        raise InvalidRuleError("end", f"the end ({local_end.isoformat()}) must come after the start")
    if rrule is not None:
        return Timing(RuleKind.RRULE, _rrule(rrule), timezone, local_start, local_end)
    assert cron is not None
    return Timing(RuleKind.CRON, _cron(cron), timezone, local_start, local_end)


def _local(moment: Any, found: ZoneInfo, path: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidRuleError(path, "a date and time, e.g. 2026-01-05T08:00:00 (local) or with an offset")
    if not FIRST_YEAR < moment.year < LAST_YEAR:
        raise InvalidRuleError(path, f"a date and time after {FIRST_YEAR} and before {LAST_YEAR}")
    local = moment if moment.tzinfo is None else local_of(moment, found)
    return local.replace(microsecond=0)


def _rrule(text: Any) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > RULE_MAX or not text.isprintable():
        raise InvalidRuleError("rrule", f"an RRULE of 1 to {RULE_MAX} characters on one line")
    rule = text.strip().upper().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        key, equals, value = part.partition("=")
        if key == "UNTIL":
            raise InvalidRuleError("rrule/UNTIL", "an RRULE here ends at the schedule's end (local time): say it there")
        if key not in RRULE_PARTS or not equals or not value:
            raise InvalidRuleError(
                f"rrule/{key or part}", f"an RRULE's parts are NAME=VALUE, NAME one of {', '.join(RRULE_PARTS)}"
            )
        if key in parts:
            raise InvalidRuleError(f"rrule/{key}", "an RRULE names each part once")
        parts[key] = value
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidRuleError("rrule/FREQ", f"an RRULE needs FREQ, one of {', '.join(FREQUENCIES)}")
    return ";".join(f"{key}={value}" for key, value in parts.items())


def _cron(text: Any) -> str:
    if not isinstance(text, str) or len(text) > RULE_MAX or not text.isprintable():
        raise InvalidRuleError("cron", f"a cron expression of at most {RULE_MAX} characters on one line")
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        raise InvalidRuleError(
            "cron", f"a cron expression has five fields: {' '.join(CRON_FIELDS)} (got {len(fields)})"
        )
    return " ".join(fields)
