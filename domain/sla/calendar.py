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
number of offset changes in the span (a few a year), not with the number of minutes, days or holidays. Offset
changes are found by reading the zone's offset at every UTC midnight of a year, once per zone and year (cached): a
change and its reverse less than a day apart would be missed, and the time-zone database has none (the closest
pair is four days apart, Africa/Freetown 1939; a test checks the installed database).
Local days are read with the time-zone database Python's `zoneinfo` finds (the system's, or the tzdata package).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidValueError

#: The end of an interval that runs until midnight ("24:00" in the stored form).
END_OF_DAY: Final = time.max
INTERVALS_MAX: Final = 70
HOLIDAYS_MAX: Final = 2000
HOLIDAY_NAME_MAX: Final = 200
#: Business time is counted over at most this many years (of 365.25 days) at once, which bounds the work per call.
SPAN_YEARS_MAX: Final = 100
#: A calendar defined from now on must be open at least this many minutes in a regular week (a weekly office
#: hour, the sparsest schedule a staffed desk keeps). Below it, a day of target stretches over years.
WEEKLY_MINUTES_MIN: Final = 60

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_SPAN_US_MAX = 36_525 * _US_PER_DAY * SPAN_YEARS_MAX // 100
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The last local day walked: its intervals may end at the next midnight, which must still be a datetime.
_LAST_DAY_US = (date.max.toordinal() - 1 - _EPOCH_ORDINAL) * _US_PER_DAY
_MIDNIGHT_TEXT = "24:00"
_DAYS_IN_A_LEAP_YEAR = 366
_NEVER = date.max.year + 1  # the first year of a yearly holiday that does not exist
#: A run of steady days is looked at up to this many days at once (so that it spans at most two years).
_RUN_DAYS_MAX = 366
#: Days around a change of UTC offset that are walked one by one: those whose spans may lie near the change.
#: A day's spans, and every offset read for them, lie within a day either side of its midnight read as UTC: a change
#: within the UTC day k touches only the local days k - 1 to k + 1.
_SHIFT_DAYS_BEFORE, _SHIFT_DAYS_AFTER = 1, 1
#: Days walked one by one whose spans are kept per calendar (so that calls that walk the same days walk them once).
_KEPT_DAYS_MAX = 4096
#: Years whose holidays are kept per calendar (a century walked, and then some).
_KEPT_YEARS_MAX = 512
#: Years whose offset changes are not searched (their midnights border the range of datetime): walked day by day.
_FIRST_SEARCHED_YEAR, _LAST_SEARCHED_YEAR = date.min.year + 1, date.max.year - 1


class BeyondHorizonError(InvalidValueError):
    """The due moment lies more than SPAN_YEARS_MAX years after its start, or after the year 9999."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


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


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """A time zone, weekly working intervals and holidays; see the module docstring for the exact rules."""

    timezone: str  # an IANA name such as "Europe/Berlin"
    intervals: tuple[WorkingInterval, ...]
    holidays: tuple[Holiday, ...] = ()
    # Derived once, for speed; not part of the value.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = field(init=False, repr=False, compare=False)
    _fixed_holidays: frozenset[date] = field(init=False, repr=False, compare=False)
    _yearly_holidays: Mapping[tuple[int, int], int] = field(init=False, repr=False, compare=False)
    _day_us: tuple[int, ...] = field(init=False, repr=False, compare=False)  # nominal working time per weekday
    _week_us: int = field(init=False, repr=False, compare=False)
    _fixed_by_year: Mapping[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)  # ordinals
    _yearly_dates: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)  # (m, d, year)
    _kept_days: dict[int, list[tuple[int, int]]] = field(init=False, repr=False, compare=False)
    _kept_years: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        intervals = _checked_intervals(self.intervals)
        holidays = _checked_holidays(self.holidays)
        yearly: dict[tuple[int, int], int] = {}
        for holiday in holidays:
            if holiday.yearly:
                key = (holiday.day.month, holiday.day.day)
                yearly[key] = min(yearly.get(key, holiday.day.year), holiday.day.year)
        if len(yearly) == _DAYS_IN_A_LEAP_YEAR:
            msg = "yearly holidays cover every day of the year, which leaves no working time"
            raise InvalidValueError(msg)
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_zone", _zone(self.timezone))
        object.__setattr__(self, "_week", _week(intervals))
        object.__setattr__(self, "_fixed_holidays", frozenset(h.day for h in holidays if not h.yearly))
        object.__setattr__(self, "_yearly_holidays", yearly)
        day_us = tuple(sum((end - start) // _ONE_US for start, end in day) for day in self._week)
        object.__setattr__(self, "_day_us", day_us)
        object.__setattr__(self, "_week_us", sum(day_us))
        by_year: dict[int, list[int]] = {}
        for day in sorted(self._fixed_holidays):
            by_year.setdefault(day.year, []).append(day.toordinal())
        object.__setattr__(self, "_fixed_by_year", {year: tuple(days) for year, days in by_year.items()})
        object.__setattr__(self, "_yearly_dates", tuple(sorted((m, d, y) for (m, d), y in yearly.items())))
        object.__setattr__(self, "_kept_days", {})
        object.__setattr__(self, "_kept_years", {})

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Calendar time: every moment is working time (UTC, 24x7, no holidays)."""
        return cls("UTC", tuple(WorkingInterval(weekday, time(0), END_OF_DAY) for weekday in range(7)))

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` lies in working time."""
        at = _microseconds(moment, "moment")
        span = next(self._spans(at, stop=at + 1), None)
        return span is not None and span[0] <= at

    @property
    def weekly_minutes(self) -> float:
        """Minutes of working time in a regular week (no holiday, no change of UTC offset)."""
        return self._week_us / _US_PER_MINUTE

    def check_new_definition(self) -> BusinessCalendar:
        """The calendar itself, if it may be defined from now on (at least WEEKLY_MINUTES_MIN a week); else raise.

        Calendars stored before the limit are not checked again: they still load and count.
        """
        if self._week_us < WEEKLY_MINUTES_MIN * _US_PER_MINUTE:
            msg = (
                f"intervals: a business calendar must be open at least {WEEKLY_MINUTES_MIN} minutes a week "
                f"(got {self.weekly_minutes:g})"
            )
            raise InvalidValueError(msg)
        return self

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The due moment: `start` plus `minutes` of working time (`start` itself, in UTC, for 0 minutes)."""
        at = _microseconds(start, "start")
        remaining = _minutes_as_microseconds(minutes)
        if remaining == 0:
            return _moment(at)
        due = self._due(at, remaining)
        if due is not None and due - at <= _SPAN_US_MAX:
            return _moment(due)
        reason = (
            "after the year 9999" if at + _SPAN_US_MAX >= _LAST_DAY_US else f"more than {SPAN_YEARS_MAX} years later"
        )
        msg = f"{minutes} business minutes after {start.isoformat()} end {reason}"
        raise BeyondHorizonError(msg, reason)

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Minutes of working time inside [start, end); 0 when `end` is not after `start`."""
        begin_at, end_at = _span(start, end)
        if end_at <= begin_at:
            return 0.0
        return self._working_us(begin_at, end_at) / _US_PER_MINUTE

    def working_periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working time inside [start, end) as maximal, ordered (begin, end) pairs in UTC."""
        begin_at, end_at = _span(start, end)
        return ((_moment(begin), _moment(end)) for begin, end in self._periods(begin_at, end_at))

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in events; `from_dict` reads it back to an equal calendar."""
        return {
            "timezone": self.timezone,
            "intervals": [
                {"weekday": i.weekday, "start": _time_text(i.start), "end": _end_text(i.end)} for i in self.intervals
            ],
            "holidays": [{"day": h.day.isoformat(), "yearly": h.yearly, "name": h.name} for h in self.holidays],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from its stored form (or from client input: every part is validated)."""
        fields = _fields(data, "a business calendar", required={"timezone", "intervals"}, optional={"holidays"})
        return cls(
            timezone=fields["timezone"],
            intervals=tuple(_interval_from_dict(item) for item in _items(fields["intervals"], "intervals")),
            holidays=tuple(_holiday_from_dict(item) for item in _items(fields.get("holidays", []), "holidays")),
        )

    def _due(self, at: int, remaining: int) -> int | None:
        """The moment `remaining` microseconds of working time after `at` (> 0), or None past the walk's end.

        The same walk as `_spans`, day by day, except that a run of steady days (one UTC offset) wholly after
        `at` is stepped over at once when the due moment lies beyond it; when it lies within it, the stretch
        between two holidays that holds it is stepped into by whole weeks, and its last (at most seven) days
        are walked one by one.
        """
        ordinal, last = self._first_ordinal(at), _LAST_DAY_US // _US_PER_DAY + _EPOCH_ORDINAL
        stop = at + _SPAN_US_MAX
        fast_from = -(-(at + _US_PER_DAY) // _US_PER_DAY) + _EPOCH_ORDINAL  # its spans all begin after `at`
        end_ordinal = min(last + 1, -(-(stop + _US_PER_DAY) // _US_PER_DAY) + _EPOCH_ORDINAL)
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
        ordinal, last = self._first_ordinal(begin_at), _LAST_DAY_US // _US_PER_DAY + _EPOCH_ORDINAL
        fast_from = -(-(begin_at + _US_PER_DAY) // _US_PER_DAY) + _EPOCH_ORDINAL
        # A steady run must end where its last day's spans still end before `end_at`.
        fast_until = (end_at - _US_PER_DAY) // _US_PER_DAY + _EPOCH_ORDINAL
        end_ordinal = min(last + 1, -(-(end_at + _US_PER_DAY) // _US_PER_DAY) + _EPOCH_ORDINAL)
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
            spans = self._day_spans(date.fromordinal(ordinal), (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY)
            self._kept_days[ordinal] = spans
        return spans

    @staticmethod
    def _first_ordinal(after: int) -> int:
        """The first local day whose spans can end after `after` (a zone's offset is less than a day)."""
        return max(after // _US_PER_DAY + _EPOCH_ORDINAL - 2, date.min.toordinal())

    def _run_us(self, ordinal: int, days: int) -> int:
        """Working time of `days` steady days from `ordinal` on: their nominal time less their holidays'."""
        return self._nominal_us(ordinal, days) - self._holiday_us(ordinal, ordinal + days)

    def _nominal_us(self, ordinal: int, days: int) -> int:
        """Nominal working time of `days` days from `ordinal` on, holidays counted as working days."""
        weeks, rest = divmod(days, 7)
        weekday = (ordinal - 1) % 7  # date.fromordinal(1) is a Monday
        return weeks * self._week_us + sum(self._day_us[(weekday + i) % 7] for i in range(rest))

    def _into_stretch(self, ordinal: int, days: int, remaining: int) -> tuple[int, int]:
        """Step to the stretch without holidays, in the steady run, where `remaining` (<= the run's time) ends.

        Returns the stretch's first day and what remains to count from it (at most the stretch's time).
        """
        for holiday in self._holidays_in(ordinal, ordinal + days):
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
        return max(_next_shift(self._zone, ordinal, end) - ordinal, 0)

    def _holiday_us(self, first: int, stop: int) -> int:
        """The nominal working time that holidays take out of the days [first, stop)."""
        total = 0
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            days, taken = self._holidays_of(year)
            total += taken[bisect_left(days, stop)] - taken[bisect_left(days, first)]
        return total

    def _holidays_in(self, first: int, stop: int) -> list[int]:
        """The holidays among the days [first, stop), in order, as ordinals."""
        found: list[int] = []
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            days, _ = self._holidays_of(year)
            found += days[bisect_left(days, first) : bisect_left(days, stop)]
        return found

    def _holidays_of(self, year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The year's holidays as sorted ordinals, and the nominal time they take out, summed up to each.

        Kept per calendar: a run asks for a year's holidays by two bisections instead of walking its days.
        """
        kept = self._kept_years.get(year)
        if kept is None:
            days = sorted(
                set(self._fixed_by_year.get(year, ()))
                | {
                    date(year, month, day).toordinal()
                    for month, day, first_year in self._yearly_dates
                    if first_year <= year and ((month, day) != (2, 29) or _is_leap(year))
                }
            )
            taken = [0]
            for day in days:
                taken.append(taken[-1] + self._day_us[(day - 1) % 7])
            kept = (tuple(days), tuple(taken))
            if len(self._kept_years) >= _KEPT_YEARS_MAX:
                self._kept_years.clear()
            self._kept_years[year] = kept
        return kept

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
        ordinal = max(after // _US_PER_DAY + _EPOCH_ORDINAL - 2, date.min.toordinal())
        last = _LAST_DAY_US // _US_PER_DAY + _EPOCH_ORDINAL
        while ordinal <= last:
            midnight = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY
            if midnight - _US_PER_DAY >= stop:
                return
            for begin, end in self._day_spans(date.fromordinal(ordinal), midnight):
                if end > after and begin < end:
                    yield begin, end
            ordinal += 1

    def _day_spans(self, day: date, midnight: int) -> list[tuple[int, int]]:
        """The spans of one local day; `midnight` is that day's 00:00 read as if it were UTC."""
        bounds = self._week[day.weekday()]
        if not bounds or self._is_holiday(day):
            return []
        local_midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
        return [
            (self._moment_of(local_midnight, midnight, start), self._moment_of(local_midnight, midnight, end))
            for start, end in bounds
        ]

    def _is_holiday(self, day: date) -> bool:
        """Whether a holiday takes out the local day `day`."""
        first_year = self._yearly_holidays.get((day.month, day.day), _NEVER)
        return day in self._fixed_holidays or first_year <= day.year

    def _moment_of(self, local_midnight: datetime, midnight: int, time_of_day: timedelta) -> int:
        """The first moment at which the clocks read local midnight + `time_of_day` or later."""
        wall = local_midnight + time_of_day  # wall-clock arithmetic: the zone is kept, fold is 0
        wall_us = midnight + time_of_day // _ONE_US
        first = _offset_us(wall)
        second = _offset_us(wall.replace(fold=1))
        if first < second:
            # Only in a gap does the first reading (fold=0) have the smaller offset: this wall time never happens.
            return self._moment_clocks_jump(wall_us, first, second)
        return wall_us - first  # ordinary or ambiguous (first occurrence)

    def _moment_clocks_jump(self, wall_us: int, before: int, after: int) -> int:
        """The moment the clocks jump over the skipped wall time `wall_us`, found by bisection.

        `wall_us - after` is still before the jump and `wall_us - before` already past it; the jump is the first
        moment whose wall-clock reading is `wall_us` or later.
        """
        low, high = wall_us - after, wall_us - before
        while high - low > 1:
            middle = (low + high) // 2
            reading = middle + _offset_us((_EPOCH + timedelta(microseconds=middle)).astimezone(self._zone))
            if reading >= wall_us:
                high = middle
            else:
                low = middle
        return high


def _next_shift(zone: ZoneInfo, ordinal: int, bound: int) -> int:
    """The first local day in [ordinal, bound) near a change of the zone's UTC offset, or `bound`."""
    first_year = date.fromordinal(max(ordinal - _SHIFT_DAYS_AFTER, 1)).year
    last_year = date.fromordinal(min(bound + _SHIFT_DAYS_BEFORE, date.max.toordinal())).year
    for year in range(first_year, last_year + 1):
        shifts = _offset_changes(zone, year)
        if shifts is None:
            return ordinal  # a year at the edge of the calendar: walked day by day
        for day in shifts:
            near_from, near_to = day - _SHIFT_DAYS_BEFORE, day + _SHIFT_DAYS_AFTER
            if near_to >= ordinal:
                return max(ordinal, min(near_from, bound))
    return bound


@lru_cache(maxsize=8192)
def _offset_changes(zone: ZoneInfo, year: int) -> tuple[int, ...] | None:
    """The days (as ordinals, UTC) of `year` within which the zone's offset changes; None for an edge year.

    The offset is read at every UTC midnight from 1 January of `year` to 1 January of the next; a change between
    two readings is put on the earlier day (see the module docs for why daily readings find every change).
    """
    if not _FIRST_SEARCHED_YEAR <= year <= _LAST_SEARCHED_YEAR:
        return None
    first, last = date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()
    seconds = (first - _EPOCH_ORDINAL) * 86_400
    offsets = [datetime.fromtimestamp(seconds + 86_400 * i, zone).utcoffset() for i in range(last - first + 1)]
    return tuple(first + i for i, (one, other) in enumerate(pairwise(offsets)) if one != other)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or raise."""
    if not isinstance(name, str) or not name:
        msg = f"a business calendar's time zone must be an IANA name such as 'Europe/Berlin' (got {name!r})"
        raise InvalidValueError(msg)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'"
        raise InvalidValueError(msg) from None


def _checked_intervals(intervals: Iterable[WorkingInterval]) -> tuple[WorkingInterval, ...]:
    """The intervals as a tuple, if there are 1 to INTERVALS_MAX of them and none overlap; else raise."""
    result = tuple(intervals)
    if not result:
        msg = "a business calendar needs at least one working interval"
        raise InvalidValueError(msg)
    if len(result) > INTERVALS_MAX:
        msg = f"a business calendar may have at most {INTERVALS_MAX} working intervals (got {len(result)})"
        raise InvalidValueError(msg)
    if not all(isinstance(interval, WorkingInterval) for interval in result):
        msg = "a business calendar's intervals must be WorkingInterval values"
        raise InvalidValueError(msg)
    ordered = sorted(result, key=lambda i: (i.weekday, _start_offset(i.start)))
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and _end_offset(earlier.end) > _start_offset(later.start):
            msg = f"working intervals overlap: {earlier} and {later}"
            raise InvalidValueError(msg)
    return result


def _checked_holidays(holidays: Iterable[Holiday]) -> tuple[Holiday, ...]:
    """The holidays as a tuple, if there are at most HOLIDAYS_MAX of them; else raise."""
    result = tuple(holidays)
    if len(result) > HOLIDAYS_MAX:
        msg = f"a business calendar may have at most {HOLIDAYS_MAX} holidays (got {len(result)})"
        raise InvalidValueError(msg)
    if not all(isinstance(holiday, Holiday) for holiday in result):
        msg = "a business calendar's holidays must be Holiday values"
        raise InvalidValueError(msg)
    return result


def _week(intervals: Iterable[WorkingInterval]) -> tuple[tuple[tuple[timedelta, timedelta], ...], ...]:
    """For each weekday, its intervals in order as (start, end) offsets from local midnight."""
    by_day: list[list[tuple[timedelta, timedelta]]] = [[] for _ in range(7)]
    for interval in intervals:
        bounds = (_start_offset(interval.start), _end_offset(interval.end))
        by_day[interval.weekday].append(bounds)
    return tuple(tuple(sorted(day)) for day in by_day)


def _start_offset(start: time) -> timedelta:
    return timedelta(hours=start.hour, minutes=start.minute, seconds=start.second, microseconds=start.microsecond)


def _end_offset(end: time) -> timedelta:
    return timedelta(days=1) if end == END_OF_DAY else _start_offset(end)


def _offset_us(moment: datetime) -> int:
    """The UTC offset of an aware datetime, in microseconds."""
    return (moment.utcoffset() or timedelta(0)) // _ONE_US


def _microseconds(moment: datetime, what: str) -> int:
    """An aware datetime as microseconds since 1970-01-01 UTC, or raise for anything else."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        msg = f"{what} must be a timezone-aware datetime (got {moment!r})"
        raise InvalidValueError(msg)
    return (moment - _EPOCH) // _ONE_US


def _span(start: datetime, end: datetime) -> tuple[int, int]:
    """Two aware datetimes as microseconds, if at most SPAN_YEARS_MAX apart; else raise."""
    begin_at, end_at = _microseconds(start, "start"), _microseconds(end, "end")
    if end_at - begin_at > _SPAN_US_MAX:
        msg = f"business time is counted over at most {SPAN_YEARS_MAX} years ({start.isoformat()} to {end.isoformat()})"
        raise InvalidValueError(msg)
    return begin_at, end_at


def _moment(microseconds: int) -> datetime:
    """Microseconds since 1970-01-01 UTC as an aware UTC datetime, or raise beyond the year 9999."""
    try:
        return _EPOCH + timedelta(microseconds=microseconds)
    except OverflowError:
        msg = "the resulting moment is outside the years 1 to 9999"
        raise InvalidValueError(msg) from None


def _minutes_as_microseconds(minutes: float) -> int:
    """A non-negative, finite number of minutes, rounded to whole microseconds."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes) or minutes < 0:
        msg = f"business minutes must be a finite number of at least 0 (got {minutes!r})"
        raise InvalidValueError(msg)
    return round(minutes * _US_PER_MINUTE)


def _time_text(moment: time) -> str:
    """09:00, or 09:00:30 / 09:00:30.250000 when there are seconds."""
    return moment.isoformat(timespec="minutes" if not (moment.second or moment.microsecond) else "auto")


def _end_text(end: time) -> str:
    return _MIDNIGHT_TEXT if end == END_OF_DAY else _time_text(end)


def _fields(data: object, what: str, *, required: set[str], optional: set[str]) -> Mapping[str, Any]:
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


def _items(value: object, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        msg = f"a business calendar's {what} must be a list (got {type(value).__name__})"
        raise InvalidValueError(msg)
    return list(value)


def _interval_from_dict(data: object) -> WorkingInterval:
    fields = _fields(data, "a working interval", required={"weekday", "start", "end"}, optional=set())
    end = END_OF_DAY if fields["end"] == _MIDNIGHT_TEXT else _parse_time(fields["end"])
    return WorkingInterval(fields["weekday"], _parse_time(fields["start"]), end)


def _holiday_from_dict(data: object) -> Holiday:
    fields = _fields(data, "a holiday", required={"day"}, optional={"yearly", "name"})
    day = fields["day"]
    try:
        parsed = date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        msg = f"a holiday's day must be an ISO-8601 date such as 2026-12-25 (got {day!r})"
        raise InvalidValueError(msg)
    return Holiday(parsed, fields.get("yearly", False), fields.get("name", ""))


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
