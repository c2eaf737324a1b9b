"""Business calendars: when a help desk works, and arithmetic in business time.

A `BusinessCalendar` has an IANA time zone, weekly working intervals and holidays. Its *working time* is a
set of real moments, defined as follows.

- **Intervals.** A `WorkingInterval` names a weekday (0 = Monday ... 6 = Sunday) and a local wall-clock `start`
  and `end` on that day; the start is included, the end is not. An interval lies within one day: `END_OF_DAY`
  (`time.max`, stored as "24:00") as the end means "until midnight", and hours across midnight are two intervals
  (22:00-24:00 on one weekday, 00:00-06:00 on the next). A weekday may have several intervals (a split day such as
  09:00-12:00 and 13:00-18:00); they may touch but not overlap. A calendar has 1 to `INTERVALS_MAX` intervals.
- **Holidays.** A `Holiday` takes out every interval of one whole local day. A yearly holiday falls on the same month
  and day in its own year and in every later year, never earlier (29 February falls only in leap years).
- **Daylight saving.** A local time *w* on day *D* stands for the first moment at which the zone's clocks read *w*
  or later. So an ambiguous time (clocks turned back) is its first occurrence, as with `fold=0`, and a time that
  never happens (clocks turned forward) is the moment the clocks jump. Business time is real elapsed time between
  those moments. In Europe/Berlin, 01:00-04:00 lasts 2 hours on 2026-03-29 and 4 hours on 2026-10-25; on
  2026-03-29, 02:30-05:00 begins at 03:00 CEST and 02:00-02:30 is empty. The rule never reverses the order of two
  times, so intervals that do not overlap on the clock never overlap in real time.
- **Working time** is the union, over all local days that are not holidays, of the spans
  [moment of start, moment of end) of that day's intervals.

Arithmetic. Every datetime given must be timezone-aware (a naive one is refused with InvalidValueError); the zone it
is expressed in does not matter, only the moment. Every datetime returned is in UTC. Counting is exact to the
microsecond: a number of minutes is rounded to the nearest microsecond once, and all sums are integers.

- `business_minutes_between(start, end)`: the length of working time inside [start, end), in minutes; 0 when
  end <= start.
- `add_business_minutes(start, n)`, the *due* moment: for n = 0, `start` itself, even outside working time. For
  n > 0, the earliest moment t with `business_minutes_between(start, t) == n`. Counting starts at `start` when it is
  working time and at the next opening otherwise, and a due moment that lands exactly where an interval ends is that
  end, not the next opening. Hence `add(add(s, a), b) == add(s, a + b)` for all a, b >= 0, a = 0 and b = 0
  included, whenever a, b and a + b round to microseconds consistently (always so for whole seconds).
- `is_working(moment)`: whether the moment lies in working time.
- `working_periods(start, end)`: working time inside [start, end) as maximal, ordered, non-empty (begin, end) pairs;
  periods that touch (Monday 00:00-24:00 and Tuesday 00:00-24:00) come out as one.

Limits, each refused with InvalidValueError: a span longer than `SPAN_YEARS_MAX` years (100) for `between` and
`working_periods`, a negative or non-finite number of minutes; a due moment more than that after its start or after
the year 9999 is refused with `BeyondHorizonError` (a subclass, so that callers can make it "no due").
`check_new_definition` adds the limit for calendars defined from now on: at least `WEEKLY_MINUTES_MIN` (60) minutes of
working time in a week. Calendars stored before that limit still load and count.

Cost. A *steady* local day is one whose zone keeps one UTC offset from a day before it to a day after it: its
working time is exactly the nominal length of its intervals, or nothing on a holiday. `add_business_minutes` and
`business_minutes_between` step over runs of steady days at once (the nominal time of whole weeks and days, less
what the run's holidays take out, found by bisection in each year's sorted holidays); inside the run that holds a
due moment they step to the stretch between two holidays that holds it, into it by whole weeks, and walk its last
days one by one, as they walk the days near a change of offset and the first days. So the work grows with the
number of offset changes in the span (a few a year), not with the number of minutes, days or holidays. How
offset changes are found and wall times read: `domain/sla/zone_offsets.py`; the holidays of a year and the time
they take out: `domain/sla/holidays.py`; the parts of a calendar and their stored form: `domain/sla/working_hours.py`.
Local days are read with the time-zone database Python's `zoneinfo` finds (the system's, or the tzdata package).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo

from domain.errors import InvalidValueError
from domain.sla.holidays import HolidayYears
from domain.sla.microseconds import (
    EPOCH_ORDINAL,
    LAST_DAY_US,
    ONE_US,
    SPAN_US_MAX,
    SPAN_YEARS_MAX,
    US_PER_DAY,
    US_PER_MINUTE,
    microseconds,
    minutes_as_microseconds,
    moment,
    span,
)
from domain.sla.working_hours import (
    END_OF_DAY,
    DayBounds,
    Holiday,
    WorkingInterval,
    checked_holidays,
    checked_intervals,
    object_fields,
    weekly_bounds,
)
from domain.sla.zone_offsets import next_shift, wall_moment, zone

#: A calendar defined from now on must be open at least this many minutes in a regular week (a weekly office
#: hour, the sparsest schedule a staffed desk keeps). Below it, a day of target stretches over years.
WEEKLY_MINUTES_MIN: Final = 60

#: A run of steady days is looked at up to this many days at once (so that it spans at most two years).
_RUN_DAYS_MAX = 366
#: Days walked one by one whose spans are kept per calendar (so that calls that walk the same days walk them once).
_KEPT_DAYS_MAX = 4096


class BeyondHorizonError(InvalidValueError):
    """The due moment lies more than SPAN_YEARS_MAX years after its start, or after the year 9999."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """A time zone, weekly working intervals and holidays; see the module docstring for the exact rules."""

    timezone: str  # an IANA name such as "Europe/Berlin"
    intervals: tuple[WorkingInterval, ...]
    holidays: tuple[Holiday, ...] = ()
    # Derived once, for speed; not part of the value.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[DayBounds, ...] = field(init=False, repr=False, compare=False)
    _day_us: tuple[int, ...] = field(init=False, repr=False, compare=False)  # nominal working time per weekday
    _week_us: int = field(init=False, repr=False, compare=False)
    _holiday_years: HolidayYears = field(init=False, repr=False, compare=False)
    _kept_days: dict[int, list[tuple[int, int]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        intervals = checked_intervals(self.intervals)
        holidays = checked_holidays(self.holidays)
        week = weekly_bounds(intervals)
        day_us = tuple(sum((end - start) // ONE_US for start, end in day) for day in week)
        holiday_years = HolidayYears(holidays, day_us)
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_zone", zone(self.timezone))
        object.__setattr__(self, "_week", week)
        object.__setattr__(self, "_day_us", day_us)
        object.__setattr__(self, "_week_us", sum(day_us))
        object.__setattr__(self, "_holiday_years", holiday_years)
        object.__setattr__(self, "_kept_days", {})

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Calendar time: every moment is working time (UTC, 24x7, no holidays)."""
        return cls("UTC", tuple(WorkingInterval(weekday, time(0), END_OF_DAY) for weekday in range(7)))

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` lies in working time."""
        at = microseconds(moment, "moment")
        span = next(self._spans(at, stop=at + 1), None)
        return span is not None and span[0] <= at

    @property
    def weekly_minutes(self) -> float:
        """Minutes of working time in a regular week (no holiday, no change of UTC offset)."""
        return self._week_us / US_PER_MINUTE

    def check_new_definition(self) -> BusinessCalendar:
        """The calendar itself, if it may be defined from now on (at least WEEKLY_MINUTES_MIN a week); else raise.

        Calendars stored before the limit are not checked again: they still load and count.
        """
        if self._week_us < WEEKLY_MINUTES_MIN * US_PER_MINUTE:
            msg = (
                f"intervals: a business calendar must be open at least {WEEKLY_MINUTES_MIN} minutes a week "
                f"(got {self.weekly_minutes:g})"
            )
            raise InvalidValueError(msg)
        return self

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The due moment: `start` plus `minutes` of working time (`start` itself, in UTC, for 0 minutes)."""
        at = microseconds(start, "start")
        remaining = minutes_as_microseconds(minutes)
        if remaining == 0:
            return moment(at)
        due = self._due(at, remaining)
        if due is not None and due - at <= SPAN_US_MAX:
            return moment(due)
        reason = "after the year 9999" if at + SPAN_US_MAX >= LAST_DAY_US else f"more than {SPAN_YEARS_MAX} years later"
        msg = f"{minutes} business minutes after {start.isoformat()} end {reason}"
        raise BeyondHorizonError(msg, reason)

    def subtract_business_minutes(self, end: datetime, minutes: float) -> datetime:
        """The latest moment `minutes` of working time before `end` (`end` itself, in UTC, for 0 minutes).

        What "2 business hours before resolution is due" means: working time in [result, end) is `minutes`.
        """
        at = microseconds(end, "end")
        remaining = minutes_as_microseconds(minutes)
        if remaining == 0:
            return moment(at)
        start = self._start_before(at, remaining)
        if start is not None:
            return moment(start)
        msg = f"{minutes} business minutes before {end.isoformat()} begin more than {SPAN_YEARS_MAX} years earlier"
        raise BeyondHorizonError(msg, f"more than {SPAN_YEARS_MAX} years earlier")

    def _start_before(self, at: int, remaining: int) -> int | None:
        """`remaining` microseconds of working time before `at`, walking back day by day; None past the span."""
        ordinal = min(at // US_PER_DAY + EPOCH_ORDINAL + 2, LAST_DAY_US // US_PER_DAY + EPOCH_ORDINAL)
        floor = max(at - SPAN_US_MAX, (date.min.toordinal() - EPOCH_ORDINAL) * US_PER_DAY)
        while (ordinal - EPOCH_ORDINAL + 1) * US_PER_DAY > floor and ordinal > date.min.toordinal():
            for begin, end in reversed(self._walked_day(ordinal)):
                if begin < at and begin < end:
                    counted_to = min(end, at)
                    if remaining <= counted_to - begin:
                        found = counted_to - remaining
                        return found if found >= floor else None
                    remaining -= counted_to - begin
            ordinal -= 1
        return None

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Minutes of working time inside [start, end); 0 when `end` is not after `start`."""
        begin_at, end_at = span(start, end)
        if end_at <= begin_at:
            return 0.0
        return self._working_us(begin_at, end_at) / US_PER_MINUTE

    def working_periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working time inside [start, end) as maximal, ordered (begin, end) pairs in UTC."""
        begin_at, end_at = span(start, end)
        return ((moment(begin), moment(end)) for begin, end in self._periods(begin_at, end_at))

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in events; `from_dict` reads it back to an equal calendar."""
        return {
            "timezone": self.timezone,
            "intervals": [interval.as_dict() for interval in self.intervals],
            "holidays": [holiday.as_dict() for holiday in self.holidays],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from its stored form (or from client input: every part is validated)."""
        fields = object_fields(data, "a business calendar", required={"timezone", "intervals"}, optional={"holidays"})
        return cls(
            timezone=fields["timezone"],
            intervals=tuple(WorkingInterval.from_dict(item) for item in _items(fields["intervals"], "intervals")),
            holidays=tuple(Holiday.from_dict(item) for item in _items(fields.get("holidays", []), "holidays")),
        )

    def _due(self, at: int, remaining: int) -> int | None:
        """The moment `remaining` microseconds of working time after `at` (> 0), or None past the walk's end.

        The same walk as `_spans`, day by day, except that a run of steady days (one UTC offset) wholly after
        `at` is stepped over at once when the due moment lies beyond it; when it lies within it, the stretch
        between two holidays that holds it is stepped into by whole weeks, and its last (at most seven) days
        are walked one by one.
        """
        ordinal, last = self._first_ordinal(at), LAST_DAY_US // US_PER_DAY + EPOCH_ORDINAL
        stop = at + SPAN_US_MAX
        fast_from = -(-(at + US_PER_DAY) // US_PER_DAY) + EPOCH_ORDINAL  # its spans all begin after `at`
        end_ordinal = min(last + 1, -(-(stop + US_PER_DAY) // US_PER_DAY) + EPOCH_ORDINAL)
        while ordinal < end_ordinal:
            run = self._steady_run(ordinal, end_ordinal) if ordinal >= fast_from else 0
            if run:
                run_us = self._run_us(ordinal, run)
                if remaining > run_us:
                    remaining -= run_us
                    ordinal += run
                    continue
                ordinal, remaining = self._into_stretch(ordinal, run, remaining)
                weeks = (remaining - 1) // self._week_us
                ordinal += 7 * weeks
                remaining -= weeks * self._week_us
                fast_from = ordinal + 7  # the due moment lies in these seven days: walk them
                continue
            for begin, end in self._walked_day(ordinal):
                if end > at and begin < end:
                    counted_from = max(begin, at)
                    if remaining <= end - counted_from:
                        return counted_from + remaining
                    remaining -= end - counted_from
            ordinal += 1
        return None

    def _working_us(self, begin_at: int, end_at: int) -> int:
        """Microseconds of working time inside [begin_at, end_at), stepping over runs of steady days."""
        ordinal, last = self._first_ordinal(begin_at), LAST_DAY_US // US_PER_DAY + EPOCH_ORDINAL
        fast_from = -(-(begin_at + US_PER_DAY) // US_PER_DAY) + EPOCH_ORDINAL
        # A steady run must end where its last day's spans still end before `end_at`.
        fast_until = (end_at - US_PER_DAY) // US_PER_DAY + EPOCH_ORDINAL
        end_ordinal = min(last + 1, -(-(end_at + US_PER_DAY) // US_PER_DAY) + EPOCH_ORDINAL)
        total = 0
        while ordinal < end_ordinal:
            run = self._steady_run(ordinal, min(fast_until, end_ordinal)) if ordinal >= fast_from else 0
            if run:
                total += self._run_us(ordinal, run)
                ordinal += run
                continue
            for begin, end in self._walked_day(ordinal):
                if end > begin_at and begin < end_at:
                    total += min(end, end_at) - max(begin, begin_at)
            ordinal += 1
        return total

    def _walked_day(self, ordinal: int) -> list[tuple[int, int]]:
        """The spans of a day walked one by one, kept: the same holidays and offset changes recur in every call."""
        spans = self._kept_days.get(ordinal)
        if spans is None:
            if len(self._kept_days) >= _KEPT_DAYS_MAX:
                self._kept_days.clear()
            spans = self._day_spans(date.fromordinal(ordinal), (ordinal - EPOCH_ORDINAL) * US_PER_DAY)
            self._kept_days[ordinal] = spans
        return spans

    @staticmethod
    def _first_ordinal(after: int) -> int:
        """The first local day whose spans can end after `after` (a zone's offset is less than a day)."""
        return max(after // US_PER_DAY + EPOCH_ORDINAL - 2, date.min.toordinal())

    def _run_us(self, ordinal: int, days: int) -> int:
        """Working time of `days` steady days from `ordinal` on: their nominal time less their holidays'."""
        return self._nominal_us(ordinal, days) - self._holiday_years.taken_us(ordinal, ordinal + days)

    def _nominal_us(self, ordinal: int, days: int) -> int:
        """Nominal working time of `days` days from `ordinal` on, holidays counted as working days."""
        weeks, rest = divmod(days, 7)
        weekday = (ordinal - 1) % 7  # date.fromordinal(1) is a Monday
        return weeks * self._week_us + sum(self._day_us[(weekday + i) % 7] for i in range(rest))

    def _into_stretch(self, ordinal: int, days: int, remaining: int) -> tuple[int, int]:
        """Step to the stretch without holidays, in the steady run, where `remaining` (<= the run's time) ends.

        Returns the stretch's first day and what remains to count from it (at most the stretch's time).
        """
        for holiday in self._holiday_years.among(ordinal, ordinal + days):
            stretch_us = self._nominal_us(ordinal, holiday - ordinal)
            if remaining <= stretch_us:
                break
            remaining -= stretch_us
            ordinal = holiday + 1  # a holiday has no working time
        return ordinal, remaining

    def _steady_run(self, ordinal: int, bound: int) -> int:
        """How many days from `ordinal` on keep one UTC offset (0 if it is near a change), at most to `bound`."""
        end = min(ordinal + _RUN_DAYS_MAX, bound)
        if end <= ordinal:
            return 0
        return max(next_shift(self._zone, ordinal, end) - ordinal, 0)

    def _periods(self, begin_at: int, end_at: int) -> Iterator[tuple[int, int]]:
        """Working time inside [begin_at, end_at), merged into maximal periods."""
        pending: tuple[int, int] | None = None
        for begin, end in self._spans(begin_at, stop=end_at):
            clipped = (max(begin, begin_at), min(end, end_at))
            if clipped[0] >= clipped[1]:
                continue
            if pending is not None and pending[1] == clipped[0]:
                pending = (pending[0], clipped[1])
                continue
            if pending is not None:
                yield pending
            pending = clipped
        if pending is not None:
            yield pending

    def _spans(self, after: int, stop: int) -> Iterator[tuple[int, int]]:
        """The non-empty working spans that end after `after`, in order, as UTC microseconds [begin, end).

        The walk ends once no later span can begin before `stop`, or at the end of the year 9999. The spans of
        local day D lie within a day either side of D read as UTC (a zone's offset is less than a day), which
        bounds the walk at both ends without asking the zone anything.
        """
        ordinal = max(after // US_PER_DAY + EPOCH_ORDINAL - 2, date.min.toordinal())
        last = LAST_DAY_US // US_PER_DAY + EPOCH_ORDINAL
        while ordinal <= last:
            midnight = (ordinal - EPOCH_ORDINAL) * US_PER_DAY
            if midnight - US_PER_DAY >= stop:
                return
            for begin, end in self._day_spans(date.fromordinal(ordinal), midnight):
                if end > after and begin < end:
                    yield begin, end
            ordinal += 1

    def _day_spans(self, day: date, midnight: int) -> list[tuple[int, int]]:
        """The spans of one local day; `midnight` is that day's 00:00 read as if it were UTC."""
        bounds = self._week[day.weekday()]
        if not bounds or self._holiday_years.is_holiday(day):
            return []
        local_midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
        return [
            (
                wall_moment(self._zone, local_midnight, midnight, start),
                wall_moment(self._zone, local_midnight, midnight, end),
            )
            for start, end in bounds
        ]


def _items(value: object, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        msg = f"a business calendar's {what} must be a list (got {type(value).__name__})"
        raise InvalidValueError(msg)
    return list(value)
