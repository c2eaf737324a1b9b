"""Holidays read from iCalendar files: all-day events, multi-day events, yearly rules, and refusals of the rest."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.sla.calendar import BusinessCalendar
from domain.sla.working_hours import HOLIDAYS_MAX, Holiday, WorkingInterval
from infrastructure.icalendar_import import EVENT_DAYS_MAX, holidays_from_ics


def ics(*events: str) -> str:
    """A calendar file around the given VEVENT bodies, with the CRLF line ends RFC 5545 asks for."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ledgerdesk//tests//EN"]
    for number, body in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:event-{number}@ledgerdesk.test", *body.strip().splitlines(), "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def test_an_all_day_event_is_one_dated_holiday() -> None:
    data = ics("DTSTART;VALUE=DATE:20261003\nSUMMARY:Tag der Deutschen Einheit")

    assert holidays_from_ics(data) == (Holiday(date(2026, 10, 3), name="Tag der Deutschen Einheit"),)


def test_bytes_and_text_read_the_same() -> None:
    data = ics("DTSTART;VALUE=DATE:20261003\nSUMMARY:Einheit")

    assert holidays_from_ics(data.encode()) == holidays_from_ics(data)


@pytest.mark.parametrize(
    ("event", "days"),
    [
        ("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227", [date(2026, 12, 24 + n) for n in range(3)]),
        ("DTSTART;VALUE=DATE:20261231\nDTEND;VALUE=DATE:20270102", [date(2026, 12, 31), date(2027, 1, 1)]),
        ("DTSTART;VALUE=DATE:20261224\nDURATION:P2D", [date(2026, 12, 24), date(2026, 12, 25)]),
        ("DTSTART;VALUE=DATE:20261224\nDURATION:P1W", [date(2026, 12, 24 + n) for n in range(7)]),
        ("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261224", [date(2026, 12, 24)]),  # same day: one day
        ("DTSTART;VALUE=DATE:20261224", [date(2026, 12, 24)]),
    ],
)
def test_a_multi_day_event_is_one_holiday_a_day(event: str, days: list[date]) -> None:
    assert [holiday.day for holiday in holidays_from_ics(ics(event + "\nSUMMARY:Closed"))] == days


@pytest.mark.parametrize(
    "rule",
    ["FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=1", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25", "FREQ=YEARLY;WKST=MO"],
)
def test_a_plain_yearly_rule_makes_yearly_holidays(rule: str) -> None:
    data = ics(f"DTSTART;VALUE=DATE:20251225\nDTEND;VALUE=DATE:20251227\nRRULE:{rule}\nSUMMARY:Christmas")

    assert holidays_from_ics(data) == (
        Holiday(date(2025, 12, 25), yearly=True, name="Christmas"),
        Holiday(date(2025, 12, 26), yearly=True, name="Christmas"),
    )


def test_a_yearly_rule_with_a_count_gives_that_many_dated_holidays() -> None:
    data = ics("DTSTART;VALUE=DATE:20260501\nRRULE:FREQ=YEARLY;COUNT=3\nSUMMARY:May Day")

    assert [h.day for h in holidays_from_ics(data)] == [date(2026, 5, 1), date(2027, 5, 1), date(2028, 5, 1)]
    assert not any(h.yearly for h in holidays_from_ics(data))


@pytest.mark.parametrize("until", ["20300301", "20310101T000000Z"])
def test_a_yearly_rule_until_a_date_skips_the_29th_of_february_in_common_years(until: str) -> None:
    data = ics(f"DTSTART;VALUE=DATE:20240229\nRRULE:FREQ=YEARLY;UNTIL={until}\nSUMMARY:Leap day")

    assert [h.day for h in holidays_from_ics(data)] == [date(2024, 2, 29), date(2028, 2, 29)]


def test_timed_and_cancelled_events_are_skipped() -> None:
    data = ics(
        "DTSTART:20261224T090000Z\nDTEND:20261224T100000Z\nSUMMARY:Team breakfast",
        "DTSTART;TZID=Europe/Berlin:20261224T090000\nSUMMARY:Meeting in Berlin",
        "DTSTART;VALUE=DATE:20261231\nSTATUS:CANCELLED\nSUMMARY:Cancelled closing day",
        "DTSTART;VALUE=DATE:20261224\nSUMMARY:Christmas Eve",
    )

    assert holidays_from_ics(data) == (Holiday(date(2026, 12, 24), name="Christmas Eve"),)


def test_long_names_are_cut_and_missing_names_are_empty() -> None:
    data = ics("DTSTART;VALUE=DATE:20261224\nSUMMARY:" + "x" * 300, "DTSTART;VALUE=DATE:20261225")

    assert [h.name for h in holidays_from_ics(data)] == ["x" * 200, ""]


def test_a_calendar_without_events_has_no_holidays() -> None:
    assert holidays_from_ics(ics()) == ()


def test_imported_holidays_take_days_out_of_a_business_calendar() -> None:
    holidays = holidays_from_ics(ics("DTSTART;VALUE=DATE:20251225\nRRULE:FREQ=YEARLY\nSUMMARY:Christmas"))
    calendar = BusinessCalendar("Europe/Berlin", (WorkingInterval(4, time(9), time(17)),), holidays)
    berlin = ZoneInfo("Europe/Berlin")

    assert not calendar.is_working(datetime(2026, 12, 25, 10, tzinfo=berlin))  # a Friday, and Christmas
    assert calendar.is_working(datetime(2026, 12, 18, 10, tzinfo=berlin))  # the Friday before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "exactly one VCALENDAR"),
        (b"garbage", "not a readable iCalendar file"),
        (b"\xff\xfe\x00", "not a readable iCalendar file"),
        ("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nEND:VEVENT\r\n", "exactly one VCALENDAR"),
        (ics() + ics(), "exactly one VCALENDAR"),
        (ics("SUMMARY:No start"), "has no DTSTART"),
        (ics("DTSTART:tomorrow\nSUMMARY:Broken"), "unreadable DTSTART"),
        (ics("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261220\nSUMMARY:Backwards"), "ends before it starts"),
        (ics("DTSTART;VALUE=DATE:20261224\nDTEND:20261225T100000Z\nSUMMARY:Mixed"), "ends at a time of day"),
        (ics("DTSTART;VALUE=DATE:20261224\nDURATION:PT12H\nSUMMARY:Half"), "whole days"),
        (ics("DTSTART;VALUE=DATE:99991231\nDURATION:P2D\nSUMMARY:End of time"), "beyond the year 9999"),
        (ics("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20281224\nSUMMARY:Long"), f"1 to {EVENT_DAYS_MAX}"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=MONTHLY\nSUMMARY:Monthly"), "FREQ=MONTHLY"),
        (ics("DTSTART;VALUE=DATE:20240229\nRRULE:FREQ=YEARLY;UNTIL=20300229\nSUMMARY:Leap"), "unreadable RRULE"),
        (ics("DTSTART;VALUE=DATE:20261126\nRRULE:FREQ=YEARLY;BYDAY=4TH\nSUMMARY:Thanksgiving"), "BYDAY=4TH"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY;INTERVAL=2\nSUMMARY:Biennial"), "INTERVAL=2"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY;BYMONTH=1\nSUMMARY:Elsewhere"), "BYMONTH=1"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY;COUNT=2;UNTIL=20301224\nSUMMARY:Both"), "COUNT=2"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY\nRRULE:FREQ=YEARLY;COUNT=2\nSUMMARY:Two"), "RRULEs"),
        (ics("DTSTART;VALUE=DATE:20261224\nRDATE;VALUE=DATE:20271224\nSUMMARY:Extra"), "RDATE"),
        (ics("DTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY\nEXDATE;VALUE=DATE:20271224\nSUMMARY:Except"), "EXDATE"),
        (ics("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;COUNT=3000\nSUMMARY:Many"), f"more than {HOLIDAYS_MAX}"),
        (
            ics("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;UNTIL=99991231\nSUMMARY:Far"),
            f"more than {HOLIDAYS_MAX}",
        ),
    ],
)
def test_bad_input_is_refused_with_a_one_line_message(data: str | bytes, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as raised:
        holidays_from_ics(data)

    assert "\n" not in str(raised.value)


def test_a_line_of_text_is_never_read_as_a_file_path(tmp_path: Path) -> None:
    holiday_file = tmp_path / "holidays.ics"
    holiday_file.write_text(ics("DTSTART;VALUE=DATE:20261224\nSUMMARY:Secret"), encoding="utf-8")

    with pytest.raises(InvalidValueError, match="not a readable iCalendar file"):
        holidays_from_ics(str(holiday_file))


@settings(max_examples=300, deadline=None)
@given(
    st.booleans(),
    st.lists(
        st.sampled_from(
            [
                "BEGIN:VCALENDAR",
                "END:VCALENDAR",
                "BEGIN:VEVENT",
                "END:VEVENT",
                "DTSTART;VALUE=DATE:20261224",
                "DTSTART:20261224T100000Z",
                "DTSTART:2026",
                "DTEND;VALUE=DATE:20261226",
                "DTEND;VALUE=DATE:20261201",
                "DURATION:P3D",
                "DTSTART;VALUE=DATE:99991230",
                "DURATION:nonsense",
                "RRULE:FREQ=YEARLY",
                "RRULE:FREQ=YEARLY;COUNT=x",
                "RRULE:FREQ=YEARLY;UNTIL=soon",
                "RRULE:FREQ=YEARLY;UNTIL=20300229",
                "RRULE:FREQ=YEARLY;UNTIL=20301224T100000Z",
                "RRULE:FREQ=YEARLY;BYMONTH=13",
                "RRULE:nonsense",
                "SUMMARY:Holiday",
                "STATUS:CANCELLED",
                "X-ANYTHING:at all",
            ]
        )
        | st.text(max_size=30),
        max_size=12,
    ),
)
def test_any_input_gives_holidays_or_an_invalid_value_error(in_an_event: bool, lines: list[str]) -> None:
    if in_an_event:
        lines = ["BEGIN:VCALENDAR", "BEGIN:VEVENT", *lines, "END:VEVENT", "END:VCALENDAR"]
    message = ""
    try:
        holidays = holidays_from_ics("\r\n".join(lines))
    except InvalidValueError as error:
        message, holidays = str(error), ()

    assert "\n" not in message
    assert all(isinstance(holiday, Holiday) for holiday in holidays)
