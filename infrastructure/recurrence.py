"""When schedules occur, by the libraries that know the rules: python-dateutil (RRULE) and cronsim (cron).

Both are asked in the schedule's local wall-clock time, from a naive local start: an RRULE or a
cron expression says wall-clock times ("08:00 every first Monday"), and reading them without a
zone keeps those times whatever the zone's offset does. Each local time found is then turned into
a moment by the domain's rule (domain/schedules/wall_clock.py): the same 08:00 on both sides of a
change of offset, a skipped time at the moment the clocks jump, a doubled one at its first showing.
Local times that fall on one moment (several skipped ones) give one occurrence: occurrences are
strictly increasing.

A rule with no day to occur on (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) makes dateutil search to
the year 9999, seconds to minutes of work that cannot be asked to stop; so `check` looks for the
first occurrence in a child process (`python -m infrastructure.recurrence`), which is ended if it
has found none within `CHECK_SECONDS`, and refuses the rule. A search left running in a thread
would go on taking the serving process's time, once per refused definition.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice

from cronsim import CronSim
from dateutil.rrule import rrulestr

from domain.errors import InvalidRuleError
from domain.schedules.timing import CRON_FIELDS, RuleKind, Timing
from domain.schedules.wall_clock import local_of, moment_of

#: How long the search for a rule's first occurrence may take, a fresh interpreter's start included.
CHECK_SECONDS = 3.0
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
        path = timing.kind.value
        asked = {"kind": path, "rule": timing.rule, "start": timing.start.isoformat()}
        try:
            answer = subprocess.run(  # noqa: S603  # this interpreter, this module, the rule as data on stdin
                [sys.executable, "-m", __name__],
                input=json.dumps(asked),
                capture_output=True,
                text=True,
                timeout=CHECK_SECONDS,
                check=True,
            )
        except subprocess.TimeoutExpired:  # subprocess.run has ended the search
            raise InvalidRuleError(path, "no occurrence found: the rule may name days that never come") from None
        except subprocess.CalledProcessError as failed:  # the search itself broke down on this rule
            raise InvalidRuleError(path, f"the rule could not be searched: {failed.stderr.strip()[-200:]}") from None
        found = json.loads(answer.stdout)
        if "refused" in found:
            said = "an RRULE python-dateutil reads" if path == "rrule" else "a cron expression cronsim reads"
            where = _cron_path(found["refused"]) if path == "cron" else path
            raise InvalidRuleError(where, f"not {said}: {found['refused']}")
        first = None if found["first"] is None else datetime.fromisoformat(found["first"])
        if first is None or (timing.end is not None and first > timing.end):
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
        return _wall_times(timing.kind, timing.rule, timing.start, after)


def _wall_times(kind: RuleKind, rule: str, start: datetime, after: datetime) -> Iterator[datetime]:
    if kind is RuleKind.RRULE:
        return iter(rrulestr(rule, dtstart=start).xafter(after, inc=True))
    return islice(CronSim(rule, max(after, start) - timedelta(seconds=1)), None)


def _first_occurrence() -> None:
    """In the child process `check` starts: read the rule from stdin, write its first wall-clock time as JSON."""
    asked = json.load(sys.stdin)
    start = datetime.fromisoformat(asked["start"])
    try:
        first = next(_wall_times(RuleKind(asked["kind"]), asked["rule"], start, start), None)
    except Exception as refused:  # the library's refusal, whatever its kind, is the answer
        json.dump({"refused": str(refused)}, sys.stdout)
        return
    json.dump({"first": None if first is None else first.isoformat()}, sys.stdout)


def _cron_path(message: str) -> str:
    """`cron/hour` for cronsim's "Bad hour", `cron` when it does not name a field."""
    said = message.lower()
    named = next((path for word, path in _CRON_PATHS.items() if word in said), None)
    return "cron" if named is None else f"cron/{named}"


assert set(_CRON_PATHS.values()) == set(CRON_FIELDS)


if __name__ == "__main__":
    _first_occurrence()
