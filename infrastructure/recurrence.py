"""When schedules occur, by the libraries that know the rules: python-dateutil (RRULE) and cronsim (cron).

Both are asked in the schedule's local wall-clock time, from a naive local start: an RRULE or a
cron expression says wall-clock times ("08:00 every first Monday"), and reading them without a
zone keeps those times whatever the zone's offset does. Each local time found is then turned into
a moment by the domain's rule (domain/schedules/wall_clock.py): the same 08:00 on both sides of a
change of offset, a skipped time at the moment the clocks jump, a doubled one at its first showing.
Local times that fall on one moment (several skipped ones) give one occurrence: occurrences are
strictly increasing.

A rule with no day to occur on (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) makes dateutil search to
the year 9999, seconds to minutes of work; so `check` looks for the first occurrence in a thread
of its own, and refuses a rule that has found none within `CHECK_SECONDS`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice

from cronsim import CronSim, CronSimError
from dateutil.rrule import rrulestr

from domain.errors import InvalidRuleError
from domain.schedules.timing import CRON_FIELDS, RuleKind, Timing
from domain.schedules.wall_clock import local_of, moment_of

CHECK_SECONDS = 1.0
#: Wall-clock times are looked for from this long before the window's local start: the moment a local time
#: stands for is less than this far from it (zones' offsets differ by less than a day).
_MARGIN = timedelta(days=2)
#: cronsim's words for the field at fault, and the paths they are reported at.
_CRON_PATHS = {
    "minute": "minute",
    "hour": "hour",
    "day-of-month": "day_of_month",
    "month": "month",
    "day-of-week": "day_of_week",
}


class LibraryRecurrence:
    """The recurrence port (domain/schedules/recurrence.py) on python-dateutil and cronsim."""

    def check(self, timing: Timing) -> None:
        """Refuse a rule the library cannot read, or one that does not occur soon enough to be found."""
        found: list[datetime | BaseException | None] = []

        def first() -> None:
            try:
                found.append(next(self._wall_times(timing, timing.start), None))
            except BaseException as error:  # handed back to the checking thread
                found.append(error)

        search = threading.Thread(target=first, name="ledgerdesk-rule-check", daemon=True)
        search.start()
        search.join(CHECK_SECONDS)
        path = timing.kind.value
        if not found:
            raise InvalidRuleError(path, "no occurrence found: the rule may name days that never come")
        result = found[0]
        if isinstance(result, CronSimError):
            raise InvalidRuleError(_cron_path(str(result)), f"not a cron expression cronsim reads: {result}") from None
        if isinstance(result, Exception):  # the library's refusal, whatever its kind
            said = "an RRULE python-dateutil reads" if path == "rrule" else "a cron expression cronsim reads"
            raise InvalidRuleError(path, f"not {said}: {result}") from None
        if isinstance(result, BaseException):
            raise result
        if result is None or (timing.end is not None and result > timing.end):
            raise InvalidRuleError(path, "the rule has no occurrence from the start to the end")

    def occurrences(self, timing: Timing, since: datetime, until: datetime | None, limit: int) -> list[datetime]:
        """At most `limit` occurrences from `since` to `until` (both included), strictly increasing, as moments."""
        zone = timing.zone
        found: list[datetime] = []
        local_since = max(local_of(since, zone) - _MARGIN, timing.start)
        local_until = None if until is None else local_of(until, zone) + _MARGIN
        for wall in self._wall_times(timing, local_since):
            if (timing.end is not None and wall > timing.end) or (local_until is not None and wall > local_until):
                break
            moment = moment_of(wall, zone)
            if moment < since or (found and moment <= found[-1]):
                continue
            if until is not None and moment > until:
                break
            found.append(moment)
            if len(found) == limit:
                break
        return found

    def _wall_times(self, timing: Timing, after: datetime) -> Iterator[datetime]:
        """The rule's local wall-clock times from `after` (included), in order, none before the start."""
        if timing.kind is RuleKind.RRULE:
            rule = rrulestr(timing.rule, dtstart=timing.start)
            return iter(rule.xafter(after, inc=True))
        cron = CronSim(timing.rule, max(after, timing.start) - timedelta(seconds=1))
        return islice(cron, None)


def _cron_path(message: str) -> str:
    """`cron/hour` for cronsim's "Bad hour", `cron` when it does not name a field."""
    said = message.lower()
    named = next((path for word, path in _CRON_PATHS.items() if word in said), None)
    return "cron" if named is None else f"cron/{named}"


assert set(_CRON_PATHS.values()) == set(CRON_FIELDS)
