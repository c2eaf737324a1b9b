"""Schedules' timing: occurrences are in order, at the wanted wall time across offset changes; refusals name a path."""

from __future__ import annotations

import itertools
import os
import subprocess
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidRuleError
from domain.schedules.catch_up import CatchUp, Step, steps
from domain.schedules.template import template
from domain.schedules.timing import Timing, timing
from domain.schedules.wall_clock import local_of, moment_of
from infrastructure.recurrence import LibraryRecurrence

BERLIN = ZoneInfo("Europe/Berlin")
LIBRARY = LibraryRecurrence()
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe", "America/Santiago", "UTC"]


def _timing(**given: Any) -> Timing:
    fields: dict[str, Any] = {
        "rrule": None,
        "cron": None,
        "timezone": "Europe/Berlin",
        "start": datetime(2026, 1, 1, 8, 0),
        "end": None,
    }
    return timing(**{**fields, **given})


def _occurrences(when: Timing, since: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    return LIBRARY.occurrences(when, since, until, limit)


# --- examples ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [{"rrule": "FREQ=DAILY;BYHOUR=8;BYMINUTE=0"}, {"cron": "0 8 * * *"}],
    ids=["rrule", "cron"],
)
def test_an_0800_berlin_schedule_opens_at_0800_local_on_both_sides_of_each_change(rule: dict[str, str]) -> None:
    when = _timing(**rule)
    for change in (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)):
        found = _occurrences(when, change - timedelta(days=3), change + timedelta(days=3))
        assert [local_of(o, BERLIN).time() for o in found] == [time(8, 0)] * 6
        offsets = {o.astimezone(BERLIN).utcoffset() for o in found}
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # both sides of the change


def test_the_first_monday_inspection_in_shanghai() -> None:
    when = _timing(rrule="FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0", timezone="Asia/Shanghai")
    found = _occurrences(when, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC))
    shanghai = ZoneInfo("Asia/Shanghai")
    assert [o.astimezone(shanghai).isoformat() for o in found] == [
        "2026-01-05T08:00:00+08:00",
        "2026-02-02T08:00:00+08:00",
        "2026-03-02T08:00:00+08:00",
        "2026-04-06T08:00:00+08:00",
    ]


def test_a_time_the_clocks_skip_is_the_moment_they_jump_and_a_doubled_time_its_first_showing() -> None:
    skipped = moment_of(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert skipped.astimezone(BERLIN).isoformat() == "2026-03-29T03:00:00+02:00"
    doubled = moment_of(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert doubled.astimezone(BERLIN).isoformat() == "2026-10-25T02:30:00+02:00"
    half_hourly = _timing(cron="*/30 * * * *", start=datetime(2026, 3, 28))
    found = _occurrences(
        half_hourly, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    )
    # 02:00 and 02:30 never show: both stand for 03:00 CEST, which opens once.
    assert [o.astimezone(BERLIN).strftime("%H:%M") for o in found] == ["01:30", "03:00", "03:30"]


def test_the_start_and_end_bound_the_occurrences() -> None:
    when = _timing(cron="0 8 * * *", start=datetime(2026, 2, 1, 9, 0), end=datetime(2026, 2, 4, 8, 0))
    found = _occurrences(when, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert [local_of(o, BERLIN).date().day for o in found] == [2, 3, 4]


def test_an_aware_start_is_read_in_the_zone() -> None:
    assert _timing(cron="0 8 * * *", start=datetime(2026, 7, 1, 6, 0, tzinfo=UTC)).start == datetime(2026, 7, 1, 8, 0)


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ({"rrule": "FREQ=DAILY", "cron": "0 8 * * *"}, "rrule"),
        ({}, "rrule"),
        ({"rrule": "FREQ=SECONDLY"}, "rrule/FREQ"),
        ({"rrule": "BYHOUR=8"}, "rrule/FREQ"),
        ({"rrule": "FREQ=DAILY;UNTIL=20270101T000000Z"}, "rrule/UNTIL"),
        ({"rrule": "FREQ=DAILY;BYWHEN=3"}, "rrule/BYWHEN"),
        ({"rrule": "FREQ=DAILY;FREQ=WEEKLY"}, "rrule/FREQ"),
        ({"cron": "0 8 * *"}, "cron"),
        ({"cron": "0 8 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"cron": "0 8 * * *", "end": datetime(2025, 1, 1)}, "end"),
        ({"cron": "0 8 * * *", "start": "tomorrow"}, "start"),
    ],
)
def test_the_domain_refuses_a_timing_with_the_path_of_the_part_at_fault(given: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRuleError) as refused:
        _timing(**given)
    assert refused.value.path == path


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),  # a day that never comes
        ({"rrule": "FREQ=DAILY;COUNT=1", "start": datetime(2026, 1, 1), "end": datetime(2026, 1, 1, 0, 0, 1)}, None),
        ({"cron": "61 8 * * *"}, "cron/minute"),
        ({"cron": "0 25 * * *"}, "cron/hour"),
        ({"cron": "0 8 31 2 *"}, "cron/day_of_month"),
        ({"cron": "0 8 * * FUNDAY"}, "cron/day_of_week"),
        ({"cron": "0 8 * 13 *"}, "cron/month"),
        ({"cron": "0 8 * * *", "start": datetime(2026, 1, 1, 9), "end": datetime(2026, 1, 1, 10)}, "cron"),
    ],
)
def test_the_library_refuses_a_rule_with_a_path(given: dict[str, Any], path: str | None) -> None:
    when = _timing(**given)
    if path is None:
        LIBRARY.check(when)  # its one occurrence is at the start
        return
    with pytest.raises(InvalidRuleError) as refused:
        LIBRARY.check(when)
    assert refused.value.path == path


# --- catch-up ----------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 4, 8, 0, 30, tzinfo=UTC)
DAYS = [datetime(2026, 3, d, 8, 0, tzinfo=UTC) for d in (1, 2, 3, 4)]  # the last one on time
LATE = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (CatchUp.ALL, [Step((), d) for d in DAYS]),
        (CatchUp.LATEST, [Step(tuple(DAYS[:2]), DAYS[2]), Step((), DAYS[3])]),
        (CatchUp.NONE, [Step(tuple(DAYS[:3]), DAYS[3])]),
    ],
)
def test_catch_up_modes_open_and_skip_the_right_occurrences(mode: CatchUp, expected: list[Step]) -> None:
    assert steps(DAYS, now=NOW, late=LATE, mode=mode) == expected


def test_with_nothing_on_time_none_only_skips() -> None:
    assert steps(DAYS[:3], now=NOW, late=LATE, mode=CatchUp.NONE) == [Step(tuple(DAYS[:3]), None)]
    assert steps([], now=NOW, late=LATE, mode=CatchUp.ALL) == []


@given(
    moments=st.lists(st.integers(0, 10_000), unique=True).map(sorted),
    late=st.integers(0, 5_000),
    mode=st.sampled_from(list(CatchUp)),
)
def test_every_occurrence_is_dealt_with_once_in_order(moments: list[int], late: int, mode: CatchUp) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    occurrences = [base + timedelta(minutes=m) for m in moments]
    now = base + timedelta(minutes=10_000)
    made = steps(occurrences, now=now, late=timedelta(minutes=late), mode=mode)
    dealt = [o for step in made for o in (*step.skipped, *([] if step.opened is None else [step.opened]))]
    assert dealt == occurrences
    opened = [step.opened for step in made if step.opened is not None]
    on_time = [o for o in occurrences if now - o <= timedelta(minutes=late)]
    assert set(on_time) <= set(opened)  # on time always opens
    if mode is CatchUp.ALL:
        assert opened == occurrences


# --- properties --------------------------------------------------------------------------------------

RULES = st.one_of(
    st.builds(
        lambda freq, hour, minute: {"rrule": f"FREQ={freq};BYHOUR={hour};BYMINUTE={minute}"},
        st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
    st.builds(
        lambda hour, minute, days: {"cron": f"{minute} {hour} * * {days}"},
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["*", "MON-FRI", "SUN", "0,6"]),
    ),
    st.builds(lambda n: {"rrule": f"FREQ=HOURLY;INTERVAL={n};BYMINUTE=30"}, st.integers(1, 5)),
)


@settings(max_examples=60, deadline=None)
@given(
    rule=RULES,
    zone=st.sampled_from(ZONES),
    since=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 1), timezones=st.just(UTC)),
)
def test_occurrences_strictly_increase_each_at_its_wall_time_or_the_jump_over_it(
    rule: dict[str, str], zone: str, since: datetime
) -> None:
    when = _timing(**rule, timezone=zone, start=datetime(2025, 1, 1))
    found = _occurrences(when, since, since + timedelta(days=60), limit=400)
    assert found, "a rule of every day or hour occurs within 60 days"
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all(since <= o <= since + timedelta(days=60) for o in found)
    tz = ZoneInfo(zone)
    wanted = rule_minute(rule)
    for moment in found:
        local = moment.astimezone(tz)
        if (local.hour * 60 + local.minute) % 60 == wanted[1] and (wanted[0] is None or local.hour == wanted[0]):
            continue
        # Only a wall time the clocks skipped moves: to the moment they jumped, which reads as the end of the gap.
        before = (moment - timedelta(microseconds=1)).astimezone(tz)
        assert local.utcoffset() != before.utcoffset(), (rule, zone, local)


def rule_minute(rule: dict[str, str]) -> tuple[int | None, int]:
    """The (hour or None for hourly, minute) a generated rule names."""
    if "cron" in rule:
        minute, hour = rule["cron"].split()[:2]
        return int(hour), int(minute)
    parts = dict(part.split("=") for part in rule["rrule"].split(";"))
    return (int(parts["BYHOUR"]) if "BYHOUR" in parts else None), int(parts["BYMINUTE"])


@given(
    wall=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    zone=st.sampled_from(ZONES),
)
def test_a_wall_time_is_read_back_unless_the_clocks_skipped_it_and_order_is_kept(wall: datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    moment = moment_of(wall, tz)
    shown = local_of(moment, tz)
    assert shown == wall or shown > wall  # a skipped time moves forward to the jump, never back
    later = moment_of(wall + timedelta(minutes=1), tz)
    assert later >= moment


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"requester_id": "facilities"}, "template/title"),
        ({"title": "Rounds"}, "template/requester_id"),
        ({"title": "Rounds", "requester_id": "facilities", "priority": "whenever"}, "template/priority"),
        ({"title": "Rounds", "requester_id": "facilities", "requester_email": "a@b.c"}, "template/requester_email"),
        ({"title": "Rounds", "requester_id": "facilities", "tags": ["Not A Slug"]}, "template/tags"),
    ],
)
def test_a_template_is_refused_with_the_path_of_its_part(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRuleError) as refused:
        template(raw)
    assert refused.value.path == path


def test_starts_far_from_now_are_refused() -> None:
    with pytest.raises(InvalidRuleError) as refused:
        _timing(cron="0 8 * * *", start=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
    assert refused.value.path == "start"


def test_a_rule_whose_days_never_come_is_refused_and_its_search_ended() -> None:
    # dateutil would search to the year 9999 for minutes; the search runs in a child process that is ended.
    impossible = _timing(rrule="FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30")
    with pytest.raises(InvalidRuleError) as refused:
        LibraryRecurrence().check(impossible)
    assert refused.value.path == "rrule"
    children = ["pgrep", "-P", str(os.getpid()), "-f", "infrastructure[.]recurrence"]
    assert subprocess.run(children, capture_output=True, check=False).returncode == 1  # none left searching
