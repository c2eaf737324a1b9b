"""Business calendars: hand-computed due moments and durations, daylight-saving days, properties of the arithmetic."""

from __future__ import annotations

import importlib
import json
import math
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.sla.calendar import BeyondHorizonError, BusinessCalendar
from domain.sla.microseconds import SPAN_YEARS_MAX
from domain.sla.working_hours import END_OF_DAY, HOLIDAYS_MAX, INTERVALS_MAX, Holiday, WorkingInterval

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ONE_US = timedelta(microseconds=1)

GOOD_FRIDAY_2026 = Holiday(date(2026, 4, 3), name="Good Friday")
CHRISTMAS = Holiday(date(2025, 12, 25), yearly=True, name="Christmas Day")


def office(zone: str = "Europe/Berlin", holidays: tuple[Holiday, ...] = ()) -> BusinessCalendar:
    """Monday to Friday, 09:00-12:00 and 13:00-18:00: 8 hours a day, 40 a week."""
    intervals = tuple(
        WorkingInterval(weekday, start, end)
        for weekday in range(5)
        for start, end in ((time(9), time(12)), (time(13), time(18)))
    )
    return BusinessCalendar(zone, intervals, holidays)


OFFICE = office(holidays=(GOOD_FRIDAY_2026, CHRISTMAS))


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sundays(zone: str, start: time, end: time) -> BusinessCalendar:
    """One working interval a week, on Sundays: the day clocks change in Europe and North America."""
    return BusinessCalendar(zone, (WorkingInterval(6, start, end),))


def whole_day(calendar: BusinessCalendar, day: date) -> float:
    """The calendar's working minutes from the day before `day` to the day after (read as UTC)."""
    around = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return calendar.business_minutes_between(around - timedelta(days=1), around + timedelta(days=2))


# --- hand-computed cases -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        pytest.param(berlin(2026, 3, 2, 10), 60, berlin(2026, 3, 2, 11), id="within-the-morning"),
        pytest.param(berlin(2026, 3, 2, 10), 120, berlin(2026, 3, 2, 12), id="lands-exactly-at-lunch-is-12:00"),
        pytest.param(berlin(2026, 3, 2, 10), 150, berlin(2026, 3, 2, 13, 30), id="over-lunch"),
        pytest.param(berlin(2026, 3, 2, 11), 120, berlin(2026, 3, 2, 14), id="split-day"),
        pytest.param(berlin(2026, 3, 2, 12, 30), 30, berlin(2026, 3, 2, 13, 30), id="start-during-lunch"),
        pytest.param(berlin(2026, 3, 2, 7), 30, berlin(2026, 3, 2, 9, 30), id="start-before-opening"),
        pytest.param(berlin(2026, 3, 2, 19), 30, berlin(2026, 3, 3, 9, 30), id="start-after-closing"),
        pytest.param(berlin(2026, 3, 1, 15), 60, berlin(2026, 3, 2, 10), id="start-on-sunday"),
        pytest.param(berlin(2026, 3, 6, 17), 60, berlin(2026, 3, 6, 18), id="lands-exactly-at-friday-closing"),
        pytest.param(berlin(2026, 3, 6, 17), 120, berlin(2026, 3, 9, 10), id="over-the-weekend"),
        pytest.param(berlin(2026, 3, 2, 10), 2400, berlin(2026, 3, 9, 10), id="one-working-week"),
        pytest.param(berlin(2026, 3, 2, 10), 0.5, berlin(2026, 3, 2, 10, 0, 30), id="half-a-minute"),
        pytest.param(berlin(2026, 3, 2, 10), 2.25, berlin(2026, 3, 2, 10, 2, 15), id="fractional"),
        pytest.param(berlin(2026, 4, 2, 17, 30), 60, berlin(2026, 4, 6, 9, 30), id="holiday-friday-then-weekend"),
        pytest.param(berlin(2026, 12, 24, 17), 120, berlin(2026, 12, 28, 10), id="yearly-holiday"),
        pytest.param(berlin(2030, 12, 24, 17), 120, berlin(2030, 12, 26, 10), id="yearly-holiday-years-later"),
        pytest.param(berlin(2024, 12, 24, 17), 120, berlin(2024, 12, 25, 10), id="yearly-holiday-not-before-its-year"),
        pytest.param(berlin(2026, 3, 27, 17), 120, berlin(2026, 3, 30, 10), id="over-the-spring-forward-weekend"),
        pytest.param(berlin(2026, 10, 23, 17), 120, berlin(2026, 10, 26, 10), id="over-the-fall-back-weekend"),
    ],
)
def test_due_moments_on_a_split_office_calendar(start: datetime, minutes: float, due: datetime) -> None:
    result = OFFICE.add_business_minutes(start, minutes)

    assert result == due
    assert result.tzinfo is UTC
    assert OFFICE.business_minutes_between(start, result) == minutes


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        pytest.param(berlin(2026, 3, 2, 8), berlin(2026, 3, 2, 20), 480, id="a-whole-working-day"),
        pytest.param(berlin(2026, 3, 2, 11, 30), berlin(2026, 3, 2, 13, 30), 60, id="across-lunch"),
        pytest.param(berlin(2026, 3, 6, 17), berlin(2026, 3, 9, 10), 120, id="across-a-weekend"),
        pytest.param(berlin(2026, 3, 2), berlin(2026, 3, 9), 2400, id="a-week"),
        pytest.param(berlin(2026, 4, 2), berlin(2026, 4, 7), 960, id="thursday-to-monday-over-good-friday"),
        pytest.param(berlin(2026, 3, 7), berlin(2026, 3, 8, 23), 0, id="a-weekend"),
        pytest.param(berlin(2026, 3, 2, 10), berlin(2026, 3, 2, 10), 0, id="empty"),
        pytest.param(berlin(2026, 3, 2, 11), berlin(2026, 3, 2, 10), 0, id="end-before-start"),
        pytest.param(berlin(2026, 3, 2, 12), berlin(2026, 3, 2, 12, 0, 1), 0, id="first-second-of-lunch"),
        pytest.param(berlin(2026, 3, 2, 11, 59, 59), berlin(2026, 3, 2, 12), 1 / 60, id="last-second-before-lunch"),
    ],
)
def test_business_minutes_between_on_the_office_calendar(start: datetime, end: datetime, minutes: float) -> None:
    assert OFFICE.business_minutes_between(start, end) == minutes


def test_adding_zero_minutes_returns_the_start_even_outside_working_hours() -> None:
    sunday_afternoon = berlin(2026, 3, 1, 15)

    due = OFFICE.add_business_minutes(sunday_afternoon, 0)

    assert due == sunday_afternoon
    assert due.tzinfo is UTC
    assert not OFFICE.is_working(sunday_afternoon)


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (berlin(2026, 3, 2, 8, 59, 59), False),
        (berlin(2026, 3, 2, 9), True),
        (berlin(2026, 3, 2, 11, 59, 59), True),
        (berlin(2026, 3, 2, 12), False),
        (berlin(2026, 3, 2, 13), True),
        (berlin(2026, 3, 2, 18), False),
        (berlin(2026, 3, 1, 10), False),
        (berlin(2026, 4, 3, 10), False),
        (berlin(2026, 12, 25, 10), False),
        (berlin(2024, 12, 25, 10), True),
    ],
)
def test_is_working_on_the_office_calendar(moment: datetime, working: bool) -> None:
    assert OFFICE.is_working(moment) is working


def test_working_periods_are_the_intervals_in_utc() -> None:
    periods = list(OFFICE.working_periods(berlin(2026, 3, 6, 10), berlin(2026, 3, 9, 10)))

    assert periods == [
        (utc(2026, 3, 6, 9), utc(2026, 3, 6, 11)),
        (utc(2026, 3, 6, 12), utc(2026, 3, 6, 17)),
        (utc(2026, 3, 9, 8), utc(2026, 3, 9, 9)),
    ]


def test_intervals_that_run_until_midnight_join_the_next_day() -> None:
    night_shift = BusinessCalendar(
        "Europe/Berlin",
        (WorkingInterval(0, time(22), END_OF_DAY), WorkingInterval(1, time(0), time(6))),
    )

    periods = list(night_shift.working_periods(berlin(2026, 3, 2, 20), berlin(2026, 3, 3, 12)))

    assert periods == [(utc(2026, 3, 2, 21), utc(2026, 3, 3, 5))]
    assert night_shift.intervals[0].ends_at_midnight
    assert night_shift.as_dict()["intervals"][0] == {"weekday": 0, "start": "22:00", "end": "24:00"}
    assert night_shift.add_business_minutes(berlin(2026, 3, 2, 23), 120) == berlin(2026, 3, 3, 1)


def test_the_always_calendar_counts_calendar_time() -> None:
    always = BusinessCalendar.always()
    start = utc(2026, 3, 28, 21, 17)  # over Berlin's spring-forward night: the calendar is UTC

    assert always.timezone == "UTC"
    assert always.holidays == ()
    assert always.is_working(start)
    assert always.add_business_minutes(start, 1440) == start + timedelta(days=1)
    assert always.business_minutes_between(start, start + timedelta(days=3, seconds=30)) == 3 * 1440 + 0.5
    assert list(always.working_periods(start, start + timedelta(days=3))) == [(start, start + timedelta(days=3))]


# --- daylight saving -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "minutes"),
    [
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(1), time(4), 120, id="berlin-spring-3h-of-wall-time"),
        pytest.param("Europe/Berlin", date(2026, 10, 25), time(1), time(4), 240, id="berlin-fall-3h-of-wall-time"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(0), END_OF_DAY, 1380, id="berlin-spring-whole-day"),
        pytest.param("Europe/Berlin", date(2026, 10, 25), time(0), END_OF_DAY, 1500, id="berlin-fall-whole-day"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(2, 30), time(5), 120, id="berlin-start-in-the-gap"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(1), time(2, 30), 60, id="berlin-end-in-the-gap"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(2), time(2, 30), 0, id="berlin-inside-the-gap"),
        pytest.param("Europe/Berlin", date(2026, 10, 25), time(2, 30), time(5), 210, id="berlin-ambiguous-start"),
        pytest.param("Europe/Berlin", date(2026, 10, 25), time(1), time(2, 30), 90, id="berlin-ambiguous-end"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), time(9), time(18), 540, id="berlin-office-hours-unaffected"),
        pytest.param("America/New_York", date(2026, 3, 8), time(0), time(6), 300, id="new-york-spring"),
        pytest.param("America/New_York", date(2026, 11, 1), time(0), time(6), 420, id="new-york-fall"),
        pytest.param("America/New_York", date(2026, 11, 1), time(1, 30), time(2, 30), 120, id="new-york-ambiguous"),
        pytest.param("Australia/Lord_Howe", date(2026, 10, 4), time(1), time(4), 150, id="lord-howe-30-min-forward"),
        pytest.param("Australia/Lord_Howe", date(2026, 4, 5), time(1), time(4), 210, id="lord-howe-30-min-back"),
    ],
)
def test_an_interval_lasts_the_real_time_between_its_bounds(
    zone: str, day: date, start: time, end: time, minutes: float
) -> None:
    assert whole_day(sundays(zone, start, end), day) == minutes


def test_a_bound_in_the_spring_forward_gap_is_the_moment_the_clocks_jump() -> None:
    calendar = sundays("Europe/Berlin", time(2, 30), time(5))  # 02:00 CET jumps to 03:00 CEST at 01:00 UTC

    assert list(calendar.working_periods(utc(2026, 3, 28), utc(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))
    ]
    assert not calendar.is_working(utc(2026, 3, 29, 1) - ONE_US)
    assert calendar.is_working(utc(2026, 3, 29, 1))


def test_an_ambiguous_bound_is_its_first_occurrence() -> None:
    calendar = sundays("Europe/Berlin", time(2, 30), time(5))  # 03:00 CEST falls back to 02:00 CET at 01:00 UTC

    assert list(calendar.working_periods(utc(2026, 10, 24), utc(2026, 10, 26))) == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 4))
    ]
    assert calendar.is_working(datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN))  # the second 02:15, in CET


@pytest.mark.parametrize(
    ("minutes", "due"),
    [
        (60, utc(2026, 3, 29, 1)),  # 01:00-02:00 CET, then the clocks read 03:00 CEST
        (120, utc(2026, 3, 29, 2)),  # 04:00 CEST: the interval's end
        (121, utc(2026, 4, 4, 23, 1)),  # next Sunday 01:01 CEST
    ],
)
def test_due_moments_on_the_berlin_spring_forward_day(minutes: float, due: datetime) -> None:
    calendar = sundays("Europe/Berlin", time(1), time(4))

    assert calendar.add_business_minutes(berlin(2026, 3, 28, 12), minutes) == due


@pytest.mark.parametrize(
    ("minutes", "due"),
    [
        (60, utc(2026, 10, 25)),  # 02:00 CEST
        (180, utc(2026, 10, 25, 2)),  # 03:00 CET: three hours of wall time are not the end yet
        (240, utc(2026, 10, 25, 3)),  # 04:00 CET: the interval's end
    ],
)
def test_due_moments_on_the_berlin_fall_back_day(minutes: float, due: datetime) -> None:
    calendar = sundays("Europe/Berlin", time(1), time(4))

    assert calendar.add_business_minutes(berlin(2026, 10, 24, 12), minutes) == due


def test_an_office_day_in_new_york_keeps_its_wall_clock_hours_across_the_change() -> None:
    calendar = office("America/New_York")
    friday = datetime(2026, 3, 6, 17, tzinfo=NEW_YORK)

    due = calendar.add_business_minutes(friday, 120)

    assert due == datetime(2026, 3, 9, 10, tzinfo=NEW_YORK)
    assert due == utc(2026, 3, 9, 14)  # EDT: four hours behind UTC, not five as on Friday


# --- performance and limits ----------------------------------------------------------------------------------------


def test_a_million_business_minutes_on_a_forty_hour_week_count_back_to_a_million() -> None:
    # How long this takes is measured by the benchmark (bench/calendar.py, `make bench BENCH_ONLY=c1`).
    start = berlin(2026, 3, 2, 10)

    due = OFFICE.add_business_minutes(start, 1_000_000)

    assert OFFICE.business_minutes_between(start, due) == 1_000_000
    assert OFFICE.is_working(due - ONE_US)


def test_a_due_moment_more_than_a_century_away_is_refused() -> None:
    # The walk stops at the calendar's span, however many minutes are asked for; bench/calendar.py times it.
    with pytest.raises(InvalidValueError, match=f"more than {SPAN_YEARS_MAX} years later"):
        BusinessCalendar.always().add_business_minutes(utc(2026, 3, 2), 1e12)


def test_a_due_moment_after_the_year_9999_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="end after the year 9999"):
        OFFICE.add_business_minutes(utc(9999, 12, 1), 100_000)
    with pytest.raises(InvalidValueError, match="after the year 9999"):
        BusinessCalendar.always().add_business_minutes(utc(9999, 12, 31, 23), 120)


def test_business_time_over_more_than_a_century_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=f"at most {SPAN_YEARS_MAX} years"):
        OFFICE.business_minutes_between(utc(1990, 1, 1), utc(2091, 1, 1))
    with pytest.raises(InvalidValueError, match=f"at most {SPAN_YEARS_MAX} years"):
        OFFICE.working_periods(utc(1990, 1, 1), utc(2091, 1, 1))


# --- invalid definitions and inputs --------------------------------------------------------------------------------

MONDAY_MORNING = WorkingInterval(0, time(9), time(12))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BusinessCalendar("Mars/Olympus_Mons", (MONDAY_MORNING,)), "unknown time zone"),
        (lambda: BusinessCalendar("America", (MONDAY_MORNING,)), "unknown time zone"),
        (lambda: BusinessCalendar("../etc/passwd", (MONDAY_MORNING,)), "unknown time zone"),
        (lambda: BusinessCalendar("", (MONDAY_MORNING,)), "time zone"),
        (lambda: BusinessCalendar("Europe/Berlin", ()), "at least one working interval"),
        (
            lambda: BusinessCalendar("UTC", (MONDAY_MORNING, WorkingInterval(0, time(11), time(13)))),
            "overlap: Monday 09:00-12:00 and Monday 11:00-13:00",
        ),
        (
            lambda: BusinessCalendar(
                "UTC", (WorkingInterval(2, time(0), END_OF_DAY), WorkingInterval(2, time(8), time(9)))
            ),
            "overlap",
        ),
        (lambda: BusinessCalendar("UTC", (MONDAY_MORNING,) * 2), "overlap"),
        (
            lambda: BusinessCalendar(
                "UTC",
                tuple(WorkingInterval(0, time(h, m), time(h, m + 1)) for h in range(12) for m in range(0, 60, 10)),
            ),
            f"at most {INTERVALS_MAX} working intervals",
        ),
        (
            lambda: BusinessCalendar("UTC", (MONDAY_MORNING,), (Holiday(date(2026, 1, 1)),) * (HOLIDAYS_MAX + 1)),
            f"at most {HOLIDAYS_MAX} holidays",
        ),
        (
            lambda: BusinessCalendar(
                "UTC",
                (MONDAY_MORNING,),
                tuple(Holiday(date(2024, 1, 1) + timedelta(days=n), yearly=True) for n in range(366)),
            ),
            "no working time",
        ),
        (lambda: WorkingInterval(7, time(9), time(12)), "weekday must be 0"),
        (lambda: WorkingInterval(-1, time(9), time(12)), "weekday must be 0"),
        (lambda: WorkingInterval(True, time(9), time(12)), "weekday must be 0"),
        (lambda: WorkingInterval(0, time(12), time(12)), "must start before it ends"),
        (lambda: WorkingInterval(0, time(13), time(12)), "must start before it ends"),
        (lambda: WorkingInterval(0, time(9), time(0)), "an end of 24:00 works until midnight"),
        (lambda: WorkingInterval(0, time(9, tzinfo=UTC), time(12)), "without a time zone"),
        (lambda: Holiday(datetime(2026, 1, 1, tzinfo=UTC)), "must be a date"),
        (lambda: Holiday(date(2026, 1, 1), name="x" * 201), "at most 200 characters"),
    ],
)
def test_invalid_definitions_are_refused_with_a_one_line_message(build: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=re.escape(message)) as raised:
        build()

    assert "\n" not in str(raised.value)


def test_intervals_may_touch() -> None:
    calendar = BusinessCalendar("UTC", (MONDAY_MORNING, WorkingInterval(0, time(12), time(13))))

    assert list(calendar.working_periods(utc(2026, 3, 2), utc(2026, 3, 3))) == [
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 13))
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_working(datetime(2026, 3, 2, 10)),
        lambda c: c.add_business_minutes(datetime(2026, 3, 2, 10), 5),
        lambda c: c.business_minutes_between(utc(2026, 3, 2), datetime(2026, 3, 3)),
        lambda c: c.working_periods(datetime(2026, 3, 2), utc(2026, 3, 3)),
        lambda c: c.is_working("2026-03-02T10:00:00+00:00"),
    ],
)
def test_naive_datetimes_are_refused(call: Any) -> None:
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        call(OFFICE)


@pytest.mark.parametrize("minutes", [-1, -0.001, math.nan, math.inf, True, "5"])
def test_minutes_must_be_a_finite_number_of_at_least_zero(minutes: Any) -> None:
    with pytest.raises(InvalidValueError, match="business minutes must be a finite number"):
        OFFICE.add_business_minutes(berlin(2026, 3, 2, 10), minutes)


# --- the stored form -----------------------------------------------------------------------------------------------


def test_the_stored_form_is_plain_json() -> None:
    assert OFFICE.as_dict() == {
        "timezone": "Europe/Berlin",
        "intervals": [
            {"weekday": weekday, "start": start, "end": end}
            for weekday in range(5)
            for start, end in (("09:00", "12:00"), ("13:00", "18:00"))
        ],
        "holidays": [
            {"day": "2026-04-03", "yearly": False, "name": "Good Friday"},
            {"day": "2025-12-25", "yearly": True, "name": "Christmas Day"},
        ],
    }


def test_seconds_survive_the_stored_form() -> None:
    calendar = BusinessCalendar("UTC", (WorkingInterval(4, time(9, 0, 30), time(9, 0, 30, 250)),))

    assert calendar.as_dict()["intervals"] == [{"weekday": 4, "start": "09:00:30", "end": "09:00:30.000250"}]
    assert BusinessCalendar.from_dict(calendar.as_dict()) == calendar


def test_holidays_are_optional_in_the_stored_form() -> None:
    data = {"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00", "end": "24:00"}]}

    assert BusinessCalendar.from_dict(data) == BusinessCalendar("UTC", (WorkingInterval(0, time(9), END_OF_DAY),))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"timezone": "UTC"}, "lacks intervals"),
        ({"timezone": "UTC", "intervals": [], "holiday": []}, "unknown fields: holiday"),
        ({"timezone": "UTC", "intervals": "mon 9-5"}, "intervals must be a list"),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "9am", "end": "17:00"}]}, "HH:MM"),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00", "end": "25:00"}]}, "HH:MM"),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00+01:00", "end": "17:00"}]}, "HH:MM"),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": 9, "end": "17:00"}]}, "HH:MM"),
        ({"timezone": "UTC", "intervals": [{"weekday": "monday", "start": "09:00", "end": "17:00"}]}, "weekday"),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00"}]}, "lacks end"),
        ({"timezone": "Nowhere", "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}, "unknown time zone"),
        ({"timezone": 1, "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}, "time zone"),
        (
            {"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"}], "holidays": [{}]},
            "lacks day",
        ),
        (
            {
                "timezone": "UTC",
                "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
                "holidays": [{"day": "2026-02-30"}],
            },
            "ISO-8601 date",
        ),
        (
            {
                "timezone": "UTC",
                "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
                "holidays": [{"day": "2026-02-03", "yearly": "yes"}],
            },
            "true or false",
        ),
    ],
)
def test_malformed_stored_forms_are_refused_with_a_one_line_message(data: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as raised:
        BusinessCalendar.from_dict(data)

    assert "\n" not in str(raised.value)


# --- properties ----------------------------------------------------------------------------------------------------

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
QUARTER_HOURS_A_DAY = 96
EARLIEST = datetime(2025, 6, 1, tzinfo=UTC)
MINUTES_IN_RANGE = 2 * 366 * 1440  # moments from mid-2025 to mid-2027: both DST changes of each zone, twice


def _quarter_hour(index: int) -> time:
    return END_OF_DAY if index == QUARTER_HOURS_A_DAY else time(index // 4, index % 4 * 15)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Random calendars on a quarter-hour grid: split days, empty days, midnight ends, bounds near DST changes."""
    intervals: list[WorkingInterval] = []
    for weekday in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, QUARTER_HOURS_A_DAY), max_size=6)))
        intervals += [
            WorkingInterval(weekday, _quarter_hour(a), _quarter_hour(b))
            for a, b in zip(cuts[::2], cuts[1::2], strict=False)
        ]
    if not intervals:
        intervals.append(WorkingInterval(draw(st.integers(0, 6)), time(9), time(17)))
    holidays = draw(
        st.lists(
            st.builds(Holiday, day=st.dates(date(2025, 1, 1), date(2027, 12, 31)), yearly=st.booleans()),
            max_size=6,
        )
    )
    return BusinessCalendar(draw(st.sampled_from(ZONES)), tuple(intervals), tuple(holidays))


# When the clocks change in 2026 (UTC): Berlin, New York, Lord Howe (by 30 minutes).
CLOCK_CHANGES = tuple(
    datetime.fromisoformat(moment)
    for moment in (
        "2026-03-29T01:00Z",
        "2026-10-25T01:00Z",
        "2026-03-08T07:00Z",
        "2026-11-01T06:00Z",
        "2026-04-04T15:00Z",
        "2026-10-03T15:30Z",
    )
)


def moments() -> st.SearchStrategy[datetime]:
    """Whole minutes from mid-2025 to mid-2027, often within a day and a half of a clock change.

    They are expressed in any of the zones: only the moment matters.
    """
    anywhere = st.integers(0, MINUTES_IN_RANGE).map(lambda minutes: EARLIEST + timedelta(minutes=minutes))
    near_a_change = st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(CLOCK_CHANGES),
        st.integers(-36 * 60, 36 * 60),
    )
    return st.builds(
        lambda moment, zone: moment.astimezone(ZoneInfo(zone)), anywhere | near_a_change, st.sampled_from(ZONES)
    )


def whole_seconds_as_minutes(most: int = 3000 * 60) -> st.SearchStrategy[float]:
    """Business minutes that are whole seconds, so that rounding to microseconds is exact."""
    return st.integers(0, most).map(lambda seconds: seconds / 60)


PROPERTY = settings(max_examples=100, deadline=None)


def instant(moment: datetime) -> datetime:
    """The same moment in UTC.

    Arithmetic and comparisons go through UTC: Python adds to and subtracts datetimes of one zone in wall-clock time,
    and an ambiguous wall time never equals a datetime of another zone.
    """
    return moment.astimezone(UTC)


def in_order(*moments: datetime) -> list[datetime]:
    return sorted(moments, key=instant)


@PROPERTY
@given(calendars(), moments(), whole_seconds_as_minutes())
def test_the_business_time_between_start_and_due_is_the_minutes_added(
    calendar: BusinessCalendar, start: datetime, minutes: float
) -> None:
    due = calendar.add_business_minutes(start, minutes)

    assert due.tzinfo is UTC
    assert due >= instant(start)
    assert calendar.business_minutes_between(start, due) == minutes


@PROPERTY
@given(calendars(), moments(), whole_seconds_as_minutes())
def test_counting_back_gives_the_latest_moment_that_many_business_minutes_before(
    calendar: BusinessCalendar, end: datetime, minutes: float
) -> None:
    begin = calendar.subtract_business_minutes(end, minutes)

    assert begin.tzinfo is UTC
    assert begin <= instant(end)
    assert calendar.business_minutes_between(begin, end) == minutes
    if minutes > 0:
        assert calendar.is_working(begin)  # the first microsecond counted is working time
        assert calendar.business_minutes_between(begin + ONE_US, end) < minutes


@PROPERTY
@given(calendars(), moments(), whole_seconds_as_minutes().filter(lambda minutes: minutes > 0))
def test_the_due_moment_is_the_earliest_one(calendar: BusinessCalendar, start: datetime, minutes: float) -> None:
    due = calendar.add_business_minutes(start, minutes)

    assert calendar.is_working(due - ONE_US)  # the last microsecond counted was working time
    assert calendar.business_minutes_between(start, due - ONE_US) < minutes


@PROPERTY
@given(calendars(), moments(), whole_seconds_as_minutes(1500 * 60), whole_seconds_as_minutes(1500 * 60))
def test_adding_in_two_steps_is_adding_the_sum(
    calendar: BusinessCalendar, start: datetime, first: float, second: float
) -> None:
    # Holds for all first, second >= 0, zero included: add(s, 0) is s itself, and a due moment that lands where an
    # interval ends is that end, from which the rest is counted from the next opening. Whole seconds keep the
    # rounding to microseconds exact, so that first + second is the sum of the two roundings.
    in_two_steps = calendar.add_business_minutes(calendar.add_business_minutes(start, first), second)

    assert in_two_steps == calendar.add_business_minutes(start, first + second)


@PROPERTY
@given(calendars(), moments())
def test_adding_nothing_is_the_start(calendar: BusinessCalendar, start: datetime) -> None:
    assert calendar.add_business_minutes(start, 0) == instant(start)


@PROPERTY
@given(calendars(), moments(), moments(), whole_seconds_as_minutes())
def test_later_starts_and_more_minutes_are_never_due_earlier(
    calendar: BusinessCalendar, one: datetime, other: datetime, minutes: float
) -> None:
    earlier, later = in_order(one, other)
    due = calendar.add_business_minutes(earlier, minutes)

    assert due <= calendar.add_business_minutes(later, minutes)
    assert due < calendar.add_business_minutes(earlier, minutes + 1)


@PROPERTY
@given(calendars(), moments(), moments())
def test_business_time_never_exceeds_calendar_time(calendar: BusinessCalendar, one: datetime, other: datetime) -> None:
    start, end = in_order(one, other)
    between = calendar.business_minutes_between(start, end)
    periods = list(calendar.working_periods(start, end))

    assert 0 <= between <= (instant(end) - instant(start)) / timedelta(minutes=1)
    assert between == sum((b - a for a, b in periods), timedelta()) / timedelta(minutes=1)
    assert (between == 0) is (not periods)  # nothing counts when the whole span is outside working time
    assert calendar.business_minutes_between(end, start) == 0


@PROPERTY
@given(calendars(), moments(), moments(), moments())
def test_business_time_is_additive(calendar: BusinessCalendar, one: datetime, two: datetime, three: datetime) -> None:
    a, b, c = in_order(one, two, three)

    between = calendar.business_minutes_between
    assert between(a, b) + between(b, c) == between(a, c)


@PROPERTY
@given(calendars(), moments(), st.integers(1, 14 * 1440), st.lists(st.integers(0, 14 * 1440 - 1), max_size=20))
def test_is_working_agrees_with_working_periods(
    calendar: BusinessCalendar, start: datetime, span: int, probes: list[int]
) -> None:
    begin_at = instant(start)
    end = begin_at + timedelta(minutes=span)
    periods = list(calendar.working_periods(start, end))

    for earlier, later in pairwise(periods):
        assert earlier[1] < later[0]  # ordered, and touching periods were merged
    for begin, finish in periods:
        assert begin_at <= begin < finish <= end
        assert begin.tzinfo is UTC
        assert finish.tzinfo is UTC
        assert calendar.is_working(begin)
        assert calendar.is_working(finish - ONE_US)
        assert begin == begin_at or not calendar.is_working(begin - ONE_US)
        assert finish == end or not calendar.is_working(finish)
    for probe in (begin_at + timedelta(minutes=p) for p in probes if p < span):
        assert calendar.is_working(probe) == any(begin <= probe < finish for begin, finish in periods)


@PROPERTY
@given(calendars(), moments(), whole_seconds_as_minutes())
def test_the_zone_a_moment_is_written_in_does_not_matter(
    calendar: BusinessCalendar, start: datetime, minutes: float
) -> None:
    assert calendar.add_business_minutes(start, minutes) == calendar.add_business_minutes(instant(start), minutes)
    assert calendar.is_working(start) == calendar.is_working(instant(start))


@PROPERTY
@given(calendars())
def test_the_stored_form_round_trips_through_json(calendar: BusinessCalendar) -> None:
    stored = json.loads(json.dumps(calendar.as_dict()))

    assert BusinessCalendar.from_dict(stored) == calendar
    assert BusinessCalendar.from_dict(stored).as_dict() == calendar.as_dict()


@PROPERTY
@given(moments(), moments(), whole_seconds_as_minutes())
def test_the_always_calendar_is_calendar_time(one: datetime, other: datetime, minutes: float) -> None:
    always = BusinessCalendar.always()
    start, end = (instant(moment) for moment in in_order(one, other))

    assert always.business_minutes_between(start, end) == (end - start) / timedelta(minutes=1)
    assert always.add_business_minutes(start, minutes) == start + timedelta(seconds=round(minutes * 60))


# --- the fast walk against the day-by-day walk ---------------------------------------------------------------------

#: Zones with daylight saving, changes at midnight (Sao Paulo until 2019), a skipped day (Apia, 2011-12-30),
#: Ramadan suspensions (Casablanca) and half-hour shifts (Lord Howe).
WALK_ZONES = (*ZONES, "America/Sao_Paulo", "Pacific/Apia", "Africa/Casablanca", "Europe/London", "Asia/Gaza")
WALK_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
WALK_MINUTES_IN_RANGE = 65 * 366 * 1440  # starts from 1995 to 2060


def _walked_due(calendar: BusinessCalendar, start: datetime, minutes: float) -> datetime | None:
    """The due moment found by walking the working periods one by one (the plain definition)."""
    remaining = timedelta(minutes=minutes)
    for begin, end in calendar.working_periods(start, start + timedelta(days=5 * 366)):
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    return None


def _walked_minutes(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    total = sum((until - begin for begin, until in calendar.working_periods(start, end)), timedelta())
    return total / timedelta(minutes=1)


@st.composite
def walk_cases(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime, float]:
    """A random calendar in a zone of WALK_ZONES, a start from 1995 to 2060 and up to 150 weeks of its working time."""
    base = draw(calendars())
    start = WALK_EARLIEST + timedelta(minutes=draw(st.integers(0, WALK_MINUTES_IN_RANGE)))
    near = st.dates(start.date() - timedelta(days=400), start.date() + timedelta(days=3 * 366))
    holidays = draw(st.lists(st.builds(Holiday, day=near, yearly=st.booleans()), max_size=20))
    calendar = BusinessCalendar(draw(st.sampled_from(WALK_ZONES)), base.intervals, tuple(holidays))
    weeks = draw(st.integers(0, 150))
    seconds = draw(st.integers(1, max(int(calendar.weekly_minutes * 60), 1)))
    return calendar, start, weeks * calendar.weekly_minutes + seconds / 60


@settings(max_examples=60, deadline=None)
@given(walk_cases())
def test_stepping_over_regular_weeks_gives_the_moment_and_minutes_of_the_day_by_day_walk(
    case: tuple[BusinessCalendar, datetime, float],
) -> None:
    calendar, start, minutes = case
    walked = _walked_due(calendar, start, minutes)
    assert walked is not None  # five years hold 150 weeks of working time, holidays and shifts included

    due = calendar.add_business_minutes(start, minutes)

    assert due == walked
    assert calendar.business_minutes_between(start, due) == _walked_minutes(calendar, start, due)
    later = due + timedelta(days=9, minutes=7)
    assert calendar.business_minutes_between(start, later) == _walked_minutes(calendar, start, later)


def test_the_time_zone_database_never_changes_an_offset_twice_within_a_day() -> None:
    # The fast walk reads each zone's offset at every UTC midnight (domain/sla/zone_offsets.py): a change and its
    # reverse within one day would go unseen. The pure-Python zoneinfo exposes the transitions the C one reads.
    pure = importlib.import_module("zoneinfo._zoneinfo").ZoneInfo
    closest = min(
        (later - earlier) / 86_400
        for name in zoneinfo.available_timezones()
        for earlier, later in pairwise(pure.no_cache(name)._trans_utc)
    )

    assert closest > 1


def _counting(calendar: BusinessCalendar) -> tuple[BusinessCalendar, list[int]]:
    """The same calendar, noting each day that it walks one by one (the days the runs do not step over)."""
    visited: list[int] = []

    class Counting(BusinessCalendar):
        def _day_spans(self, day: date, midnight: int) -> list[tuple[int, int]]:
            visited.append(day.toordinal())
            return super()._day_spans(day, midnight)

    return Counting(calendar.timezone, calendar.intervals, calendar.holidays), visited


def test_a_day_of_target_on_a_long_week_costs_little_more_than_an_hour_of_it() -> None:
    # Not timed (the benchmark times it): the walk visits few days however many minutes are added.
    calendar, visited = _counting(OFFICE)
    start = berlin(2026, 3, 2, 10)
    calendar.add_business_minutes(start, 480)
    short = len(visited)
    assert short > 0  # the counting calendar sees the walk
    visited.clear()
    calendar.add_business_minutes(start, 1_000_000)
    long = len(visited)

    # 1,000,000 minutes are about eight years: two offset changes and up to two holidays each year are walked.
    assert long <= short + 8 * 2 * 6 + 8 * 2 + 7


def _all_but_leap_days() -> BusinessCalendar:
    """Open around the clock, but every day of the year except 29 February is a yearly holiday."""
    holidays = tuple(Holiday(date(2023, 1, 1) + timedelta(days=i), yearly=True) for i in range(365))
    return BusinessCalendar("Europe/Berlin", tuple(WorkingInterval(d, time(0), END_OF_DAY) for d in range(7)), holidays)


def test_a_calendar_of_holidays_is_counted_exactly_and_stepped_over_by_runs() -> None:
    calendar = _all_but_leap_days()
    start = utc(2026, 3, 2)

    due = calendar.add_business_minutes(start, 1000)

    assert due == _walked_due(calendar, start, 1000) == berlin(2028, 2, 29, 16, 40)
    assert calendar.business_minutes_between(start, due + timedelta(days=400)) == 1440


def test_a_due_beyond_the_horizon_on_a_calendar_of_holidays_walks_few_days() -> None:
    # A valid new definition (open all week) whose holidays leave 1,440 minutes every four years: 525,600
    # minutes are 1,460 years away. The walk steps over holidays with the runs: it visits few days one by one.
    calendar, visited = _counting(_all_but_leap_days().check_new_definition())
    with pytest.raises(BeyondHorizonError):
        calendar.add_business_minutes(utc(2026, 3, 2), 525_600)

    assert len(visited) <= 100 * 2 * 3 + 7  # the days around two offset changes a year, for a century
