"""A calendar's holidays, by local day and by year: which days they take out, and how much working time.

A fixed holiday takes out its day; a yearly one its month and day in its own year and every later
year, never earlier (29 February only in leap years). A year's holidays are kept sorted with the
nominal working time they take out summed up to each, so a stretch of days asks for them by two
bisections instead of walking its days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date

from domain.errors import InvalidValueError
from domain.sla.working_hours import Holiday

_DAYS_IN_A_LEAP_YEAR = 366
_NEVER = date.max.year + 1  # the first year of a yearly holiday that does not exist
#: Years whose holidays are kept per calendar (a century walked, and then some).
_KEPT_YEARS_MAX = 512


class HolidayYears:
    """The holidays of one calendar, with the nominal working time (`day_us`, per weekday) each takes out."""

    def __init__(self, holidays: Iterable[Holiday], day_us: tuple[int, ...]) -> None:
        yearly: dict[tuple[int, int], int] = {}
        fixed: set[date] = set()
        for holiday in holidays:
            if holiday.yearly:
                key = (holiday.day.month, holiday.day.day)
                yearly[key] = min(yearly.get(key, holiday.day.year), holiday.day.year)
            else:
                fixed.add(holiday.day)
        if len(yearly) == _DAYS_IN_A_LEAP_YEAR:
            msg = "yearly holidays cover every day of the year, which leaves no working time"
            raise InvalidValueError(msg)
        self._day_us = day_us
        self._fixed = frozenset(fixed)
        self._yearly = yearly  # (month, day) -> the first year it falls in
        by_year: dict[int, list[int]] = {}
        for day in sorted(fixed):
            by_year.setdefault(day.year, []).append(day.toordinal())
        self._fixed_by_year = {year: tuple(days) for year, days in by_year.items()}  # ordinals
        self._yearly_dates = tuple(sorted((m, d, y) for (m, d), y in yearly.items()))  # (month, day, first year)
        self._kept_years: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def is_holiday(self, day: date) -> bool:
        """Whether a holiday takes out the local day `day`."""
        first_year = self._yearly.get((day.month, day.day), _NEVER)
        return day in self._fixed or first_year <= day.year

    def taken_us(self, first: int, stop: int) -> int:
        """The nominal working time that holidays take out of the days [first, stop) (ordinals)."""
        total = 0
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            days, taken = self._of_year(year)
            total += taken[bisect_left(days, stop)] - taken[bisect_left(days, first)]
        return total

    def among(self, first: int, stop: int) -> list[int]:
        """The holidays among the days [first, stop), in order, as ordinals."""
        found: list[int] = []
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            days, _ = self._of_year(year)
            found += days[bisect_left(days, first) : bisect_left(days, stop)]
        return found

    def _of_year(self, year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The year's holidays as sorted ordinals, and the nominal time they take out, summed up to each (kept)."""
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


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
