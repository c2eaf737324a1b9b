"""The SLA clock folded from real Ticket events: scenarios, value objects, and properties of the fold."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.errors import DomainError, InvalidValueError
from domain.provenance import CommandContext, acting
from domain.sla.calendar import BusinessCalendar
from domain.sla.clock import SlaClock, recompute
from domain.sla.conditions import PolicyConditions, TicketFacts
from domain.sla.escalation import Escalation
from domain.sla.policy import CALENDAR_TIME, AppliedPolicy, Calendar, PolicyTerms, SlaTarget, TargetState, select_policy
from domain.sla.target_status import TargetStatus
from domain.sla.working_hours import WorkingInterval
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import FieldValue, Priority
from domain.workflows.lifecycle import STANDARD as STANDARD_LIFECYCLE

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
FRIDAY = datetime(2026, 3, 6, tzinfo=UTC)

AGENT = Actor("alice", ActorKind.AGENT)
REQUESTER = Actor("bob", ActorKind.REQUESTER)
INTEGRATION = Actor("crm-sync", ActorKind.API_CLIENT)
ROUTER = Actor("round-robin", ActorKind.SYSTEM)

FR, NR, RES = SlaTarget.FIRST_RESPONSE, SlaTarget.NEXT_RESPONSE, SlaTarget.RESOLUTION
ACTIVE, PAUSED, MET, BREACHED = TargetState.ACTIVE, TargetState.PAUSED, TargetState.MET, TargetState.BREACHED


class AroundTheClock:
    """A 24x7 calendar: every minute counts."""

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        return max((end - start).total_seconds() / 60, 0.0)


ALWAYS = AroundTheClock()
OFFICE = BusinessCalendar("UTC", tuple(WorkingInterval(day, time(9), time(17)) for day in range(5)))
CALENDARS: dict[str, Calendar] = {"office": OFFICE}


def minute(n: float) -> datetime:
    return START + timedelta(minutes=n)


def applied(
    policy_id: str = "standard",
    version: int = 1,
    *,
    calendar: Calendar = ALWAYS,
    calendar_id: str | None = None,
    targets: dict[SlaTarget, int] | None = None,
    **terms: Any,
) -> AppliedPolicy:
    chosen = {FR: 60, NR: 30, RES: 240} if targets is None else targets
    return AppliedPolicy(
        policy_id=policy_id,
        version=version,
        terms=PolicyTerms(name=policy_id.title(), targets=chosen, calendar_id=calendar_id, **terms),
        calendar=calendar,
    )


STANDARD = applied()


class Story:
    """A real ticket, driven through its public methods at chosen moments."""

    def __init__(self, *, by: Actor = REQUESTER, at: datetime = START, **opening: Any) -> None:
        self.now = at
        with acting(self._context(by)):
            self.ticket = Ticket.open(
                tenant="acme",
                title="Printer on floor 3 jams",
                requester_id="bob",
                **{"description": "It jams.", **opening},
            )
        self.events: list[Ticket.Event] = []
        self._record()

    def _context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor, "web", self.now)

    def _record(self) -> Story:
        self.events.extend(e for e in self.ticket.collect_events() if isinstance(e, Ticket.Event))
        return self

    def at(self, minutes: float) -> Story:
        """Move to `minutes` after START."""
        self.now = minute(minutes)
        return self

    def on(self, moment: datetime) -> Story:
        self.now = moment
        return self

    def later(self, **delta: float) -> Story:
        self.now += timedelta(**delta)
        return self

    def say(self, actor: Actor = AGENT, *, public: bool = True) -> Story:
        with acting(self._context(actor)):
            self.ticket.add_comment("About the printer", public=public)
        return self._record()

    def note(self) -> Story:
        return self.say(AGENT, public=False)

    def move(self, status: Status, actor: Actor = AGENT) -> Story:
        with acting(self._context(actor)):
            self.ticket.transition(status.value, lifecycle=STANDARD_LIFECYCLE)
        return self._record()

    def prioritise(self, priority: Priority) -> Story:
        with acting(self._context(AGENT)):
            self.ticket.change_priority(priority)
        return self._record()

    def assign(self, group: str) -> Story:
        with acting(self._context(AGENT)):
            self.ticket.assign(group=group)
        return self._record()

    def retype(self, ticket_type: str) -> Story:
        with acting(self._context(AGENT)):
            self.ticket.change_type(ticket_type)
        return self._record()

    def tag(self, *tags: str) -> Story:
        with acting(self._context(AGENT)):
            self.ticket.add_tags(tags)
        return self._record()

    def set_field(self, name: str, value: FieldValue) -> Story:
        with acting(self._context(AGENT)):
            self.ticket.set_custom_field(name, value)
        return self._record()

    def fold(self, policy: AppliedPolicy | None = STANDARD) -> SlaClock:
        clock = SlaClock.start()
        for event in self.events:
            clock.apply(event, policy)
        return clock


def follow(events: Iterable[object], policies: Sequence[AppliedPolicy], clock: SlaClock | None = None) -> SlaClock:
    """Fold events, choosing for each the first policy whose conditions match the ticket after it."""
    clock = SlaClock.start() if clock is None else clock
    for event in events:
        clock.apply(event, choose(clock, event, policies))
    return clock


def choose(clock: SlaClock, event: object, policies: Sequence[AppliedPolicy]) -> AppliedPolicy | None:
    facts = clock.facts_after(event)
    chosen = None if facts is None else select_policy([(p, p.terms) for p in policies], facts)
    return None if chosen is None else chosen[0]


def of(statuses: list[TargetStatus], target: SlaTarget) -> TargetStatus:
    (found,) = [s for s in statuses if s.target is target]
    return found


def at(clock: SlaClock, target: SlaTarget, minutes: float) -> TargetStatus:
    return of(clock.status(minute(minutes)), target)


# --- first response ----------------------------------------------------------------------------------


def test_an_internal_note_does_not_fulfil_the_first_response_but_a_public_reply_does() -> None:
    story = Story().at(10).note().at(20).say(REQUESTER)

    running = at(story.fold(), FR, 30)
    assert (running.state, running.elapsed_minutes, running.remaining_minutes) == (ACTIVE, 30, 30)
    assert (running.started_at, running.due_at, running.warn_at) == (START, minute(60), minute(45))
    assert running.fulfilled_at is None

    met = at(story.at(40).say().fold(), FR, 500)
    assert (met.state, met.elapsed_minutes, met.fulfilled_at, met.due_at) == (MET, 40, minute(40), minute(60))
    assert (met.cycle, met.policy_id, met.policy_version, met.target_minutes) == (1, "standard", 1, 60)
    assert met.warn_at is None


@pytest.mark.parametrize("actor", [REQUESTER, INTEGRATION, ROUTER], ids=lambda a: a.kind.value)
def test_only_an_agent_s_public_comment_is_a_response(actor: Actor) -> None:
    story = Story().at(10).say(actor)

    assert at(story.fold(), FR, 20).state is ACTIVE


def test_the_description_of_a_ticket_an_agent_opened_is_not_a_response() -> None:
    story = Story(by=AGENT, description="Customer phoned: the printer on floor 3 jams.")

    assert at(story.fold(), FR, 50).state is ACTIVE

    met = at(story.at(50).say().fold(), FR, 60)
    assert (met.state, met.started_at, met.elapsed_minutes) == (MET, START, 50)


def test_a_reply_exactly_at_the_due_moment_meets_the_target() -> None:
    assert at(Story().at(60).say().fold(), FR, 60).state is MET


def test_a_breach_then_a_late_reply_stays_breached() -> None:
    story = Story()
    clock = story.fold()
    assert at(clock, FR, 59.9).state is ACTIVE

    breached = at(clock, FR, 61)
    assert (breached.state, breached.breached_at, breached.due_at) == (BREACHED, minute(60), minute(60))
    assert breached.remaining_minutes == pytest.approx(-1)
    assert breached.warn_at is None

    late = at(story.at(90).say().fold(), FR, 100)
    assert (late.state, late.breached_at, late.fulfilled_at, late.elapsed_minutes) == (
        BREACHED,
        minute(60),
        minute(90),
        90,
    )
    assert late.remaining_minutes == -30


def test_a_target_paused_after_its_due_moment_stays_breached() -> None:
    clock = Story().at(70).move(Status.PENDING).fold()

    paused = at(clock, FR, 200)
    assert (paused.state, paused.breached_at, paused.elapsed_minutes, paused.due_at) == (BREACHED, minute(60), 70, None)


# --- pausing ------------------------------------------------------------------------------------------


def test_pending_pauses_every_running_target_and_leaving_it_resumes() -> None:
    story = Story().at(20).move(Status.PENDING)
    paused = story.fold().status(minute(50))

    assert [(s.target, s.state, s.elapsed_minutes, s.due_at, s.warn_at, s.pauses) for s in paused] == [
        (FR, PAUSED, 20, None, None, 1),
        (RES, PAUSED, 20, None, None, 1),
    ]

    resumed = story.at(80).move(Status.OPEN).fold().status(minute(90))
    assert [(s.target, s.state, s.elapsed_minutes, s.due_at, s.pauses) for s in resumed] == [
        (FR, ACTIVE, 30, minute(80 + 40), 1),
        (RES, ACTIVE, 30, minute(80 + 220), 1),
    ]


@pytest.mark.parametrize(
    ("pause_statuses", "expected"),
    [({Status.PENDING}, (ACTIVE, 50, 0)), ({Status.PENDING, Status.ON_HOLD}, (PAUSED, 20, 1))],
    ids=["default", "on-hold-configured"],
)
def test_on_hold_pauses_only_when_the_policy_says_so(
    pause_statuses: set[Status], expected: tuple[TargetState, float, int]
) -> None:
    policy = applied(pause_statuses=frozenset(pause_statuses))
    clock = Story().at(20).move(Status.ON_HOLD).fold(policy)

    status = at(clock, RES, 50)
    assert (status.state, status.elapsed_minutes, status.pauses) == expected


def test_every_pause_is_counted_and_none_of_its_time() -> None:
    story = Story().at(10).move(Status.PENDING).at(20).move(Status.OPEN).at(30).move(Status.PENDING)
    story.at(50).move(Status.ON_HOLD).at(60).move(Status.OPEN)
    policy = applied(pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD}))

    status = at(story.fold(policy), RES, 100)
    # pending -> on_hold is one pause: the target does not run in either
    assert (status.elapsed_minutes, status.pauses, status.due_at) == (10 + 10 + 40, 2, minute(60 + 240 - 20))


# --- resolution ---------------------------------------------------------------------------------------


def test_a_reopen_resumes_the_resolution_clock_with_its_elapsed_time() -> None:
    story = Story().at(10).say().at(100).move(Status.SOLVED)
    solved = at(story.fold(), RES, 300)
    assert (solved.state, solved.cycle, solved.elapsed_minutes, solved.fulfilled_at) == (MET, 1, 100, minute(100))

    story.at(400).move(Status.OPEN, REQUESTER)
    reopened = at(story.fold(), RES, 450)
    assert (reopened.state, reopened.cycle, reopened.elapsed_minutes) == (ACTIVE, 2, 150)
    assert (reopened.started_at, reopened.due_at, reopened.fulfilled_at) == (START, minute(400 + 140), None)

    story.at(500).move(Status.SOLVED)
    assert at(story.fold(), RES, 550).state is MET

    story.at(600).move(Status.OPEN, REQUESTER)
    third = at(story.fold(), RES, 700)
    assert (third.state, third.cycle, third.breached_at, third.elapsed_minutes) == (BREACHED, 3, minute(640), 300)


def test_a_reopen_after_a_breached_cycle_starts_breached() -> None:
    story = Story().at(300).move(Status.SOLVED).at(310).move(Status.OPEN, REQUESTER)

    status = at(story.fold(), RES, 320)
    assert (status.state, status.cycle, status.breached_at, status.elapsed_minutes) == (
        BREACHED,
        2,
        minute(310),
        310,
    )


def test_response_targets_do_not_run_while_the_ticket_is_solved() -> None:
    story = Story().at(30).move(Status.SOLVED)

    held = at(story.fold(), FR, 1000)
    assert (held.state, held.elapsed_minutes, held.pauses) == (PAUSED, 30, 1)

    story.at(1000).move(Status.OPEN, REQUESTER)
    assert at(story.fold(), FR, 1010).elapsed_minutes == 40


def test_closing_ends_every_target_for_good() -> None:
    story = Story().at(30).move(Status.SOLVED).at(40).move(Status.CLOSED)
    clock = story.fold()

    statuses = clock.status(minute(100_000))
    assert [(s.target, s.state, s.elapsed_minutes, s.ended_at) for s in statuses] == [
        (FR, PAUSED, 30, minute(40)),
        (RES, MET, 30, minute(40)),
    ]
    assert clock.status(minute(100_000)) == clock.status(minute(41))


# --- next response ------------------------------------------------------------------------------------


def test_next_response_runs_from_the_oldest_unanswered_requester_comment() -> None:
    story = Story().at(5).say(REQUESTER).at(10).say()
    assert [s.target for s in story.fold().status(minute(15))] == [FR, RES]  # earlier comments: the first response

    story.at(20).say(REQUESTER).at(25).say(REQUESTER)
    waiting = at(story.fold(), NR, 40)
    assert (waiting.state, waiting.cycle, waiting.started_at, waiting.elapsed_minutes, waiting.due_at) == (
        ACTIVE,
        1,
        minute(20),
        20,
        minute(50),
    )

    story.at(45).say()
    answered = at(story.fold(), NR, 46)
    assert (answered.state, answered.cycle, answered.elapsed_minutes, answered.fulfilled_at) == (MET, 1, 25, minute(45))

    story.at(60).say(REQUESTER).at(95).note()
    second = at(story.fold(), NR, 100)
    assert (second.state, second.cycle, second.started_at, second.breached_at) == (BREACHED, 2, minute(60), minute(90))


def test_a_next_response_cycle_pauses_like_any_target() -> None:
    story = Story().at(5).say().at(10).say(REQUESTER).at(20).move(Status.PENDING).at(50).move(Status.OPEN)

    status = at(story.fold(), NR, 60)
    assert (status.elapsed_minutes, status.pauses, status.due_at) == (20, 1, minute(50 + 20))


# --- update time -------------------------------------------------------------------------------------

UPDATING = applied("updating", targets={FR: 60, SlaTarget.UPDATE: 30, RES: 240})
UP = SlaTarget.UPDATE


def test_update_time_runs_from_the_request_itself_before_any_reply() -> None:
    story = Story().at(5).say(REQUESTER).at(20).note()  # a second message restarts nothing; a note answers nothing
    waiting = at(story.fold(UPDATING), UP, 25)
    assert (waiting.state, waiting.cycle, waiting.started_at, waiting.due_at) == (ACTIVE, 1, START, minute(30))

    story.at(40).say()
    answered = at(story.fold(UPDATING), UP, 41)
    assert (answered.state, answered.breached_at, answered.fulfilled_at) == (BREACHED, minute(30), minute(40))

    story.at(50).say(REQUESTER).at(60).say()
    second = at(story.fold(UPDATING), UP, 61)
    assert (second.state, second.cycle, second.started_at, second.elapsed_minutes) == (MET, 2, minute(50), 10)


def test_update_time_waits_for_the_requester_when_an_agent_opened_the_ticket() -> None:
    story = Story(by=AGENT).at(10).say()
    assert [s.target for s in story.fold(UPDATING).status(minute(15))] == [FR, RES]

    story.at(20).say(REQUESTER).at(30).move(Status.PENDING).at(50).move(Status.OPEN)
    status = at(story.fold(UPDATING), UP, 60)
    assert (status.cycle, status.started_at, status.elapsed_minutes, status.pauses) == (1, minute(20), 20, 1)


@given(st.lists(st.sampled_from(["requester", "agent", "note"]), max_size=12))
@settings(max_examples=200, deadline=None)
def test_update_time_has_one_cycle_per_answered_run_of_requester_messages(messages: list[str]) -> None:
    story = Story()
    for n, kind in enumerate(messages, start=1):
        story.at(n)
        if kind == "note":
            story.note()
        else:
            story.say(REQUESTER if kind == "requester" else AGENT)
    # The opening, and every requester message after an agent's public reply, start a cycle.
    last, runs = "requester", 1
    for kind in (m for m in messages if m != "note"):
        runs += kind == "requester" and last == "agent"
        last = kind
    statuses = [s for s in story.fold(UPDATING).status(minute(100)) if s.target is UP]
    assert [s.cycle for s in statuses] == [runs]
    assert (statuses[0].fulfilled_at is not None) == (last == "agent")


# --- policy changes -----------------------------------------------------------------------------------

NORMAL_ONLY = PolicyConditions(priorities=frozenset({Priority.NORMAL}))
URGENT_ONLY = PolicyConditions(priorities=frozenset({Priority.URGENT}))
HIGH_ONLY = PolicyConditions(priorities=frozenset({Priority.HIGH}))


def test_a_policy_change_recomputes_the_due_moment_without_losing_elapsed_or_pause_time() -> None:
    standard = applied("standard", conditions=NORMAL_ONLY)
    urgent = applied("urgent", 3, targets={FR: 30, NR: 15, RES: 120}, conditions=URGENT_ONLY)
    story = Story().at(10).move(Status.PENDING).at(40).move(Status.OPEN).at(70).prioritise(Priority.URGENT)

    clock = follow(story.events, [standard, urgent])
    resolution = at(clock, RES, 80)
    assert (resolution.policy_id, resolution.policy_version, resolution.target_minutes) == ("urgent", 3, 120)
    assert (resolution.elapsed_minutes, resolution.pauses, resolution.due_at) == (50, 1, minute(70 + 80))
    # 40 minutes had run against a 30-minute target: breached at the change
    first = at(clock, FR, 80)
    assert (first.state, first.breached_at) == (BREACHED, minute(70))


def test_a_later_policy_measures_time_from_the_start_even_if_no_policy_applied_then() -> None:
    standard = applied("standard", conditions=NORMAL_ONLY)
    story = Story(priority="low").at(10).move(Status.PENDING).at(30).move(Status.OPEN)

    assert follow(story.events, [standard]).status(minute(40)) == []

    story.at(50).prioritise(Priority.NORMAL)
    resolution = at(follow(story.events, [standard]), RES, 60)
    assert (resolution.started_at, resolution.elapsed_minutes, resolution.pauses) == (START, 40, 1)
    assert resolution.due_at == minute(50 + 240 - 30)


def test_a_target_the_new_policy_lacks_is_not_reported_but_still_followed() -> None:
    standard = applied("standard", conditions=NORMAL_ONLY)
    high = applied("high", targets={FR: 60, RES: 240}, conditions=HIGH_ONLY)
    story = Story().at(5).say().at(10).say(REQUESTER).at(20).prioritise(Priority.HIGH)
    story.at(30).move(Status.PENDING).at(40).move(Status.OPEN)

    assert [s.target for s in follow(story.events, [standard, high]).status(minute(50))] == [FR, RES]

    story.at(50).prioritise(Priority.NORMAL)
    following = at(follow(story.events, [standard, high]), NR, 60)
    assert (following.started_at, following.elapsed_minutes, following.pauses) == (minute(10), 40, 1)


def test_a_target_fulfilled_while_untracked_is_judged_by_the_policy_that_tracks_it_next() -> None:
    standard = applied("standard", conditions=NORMAL_ONLY)
    story = Story(priority="low").at(90).say().at(100).prioritise(Priority.NORMAL)

    first = at(follow(story.events, [standard]), FR, 110)
    assert (first.state, first.elapsed_minutes, first.breached_at, first.policy_id) == (
        BREACHED,
        90,
        minute(90),
        "standard",
    )


def test_a_met_target_keeps_the_policy_it_was_judged_under() -> None:
    standard = applied("standard", conditions=NORMAL_ONLY)
    strict = applied("strict", targets={FR: 5, RES: 60}, conditions=URGENT_ONLY)
    story = Story().at(30).say().at(40).prioritise(Priority.URGENT)

    first = at(follow(story.events, [standard, strict]), FR, 50)
    assert (first.state, first.policy_id, first.target_minutes) == (MET, "standard", 60)


def test_elapsed_time_measured_in_one_calendar_stays_when_the_policy_moves_to_another() -> None:
    always = applied("always", conditions=NORMAL_ONLY)
    office = applied("office", calendar=OFFICE, calendar_id="office", conditions=HIGH_ONLY)
    story = Story(at=FRIDAY + timedelta(hours=14)).on(FRIDAY + timedelta(hours=16)).prioritise(Priority.HIGH)

    monday = FRIDAY + timedelta(days=3)
    resolution = of(follow(story.events, [always, office]).status(monday + timedelta(hours=9, minutes=30)), RES)
    # 120 minutes in calendar time (Friday 14-16), then Friday 16-17 and Monday 9-9:30 in office hours
    assert resolution.elapsed_minutes == 120 + 60 + 30
    assert resolution.due_at == monday + timedelta(hours=10)


def test_without_a_policy_nothing_is_reported() -> None:
    assert Story().at(10).say().fold(None).status(minute(20)) == []


# --- business hours -----------------------------------------------------------------------------------


def test_business_hours_carry_the_due_moment_over_the_weekend() -> None:
    office = applied("office", calendar=OFFICE, calendar_id="office")
    story = Story(at=FRIDAY + timedelta(hours=16, minutes=50))

    weekend = of(story.fold(office).status(FRIDAY + timedelta(days=1)), FR)
    assert (weekend.state, weekend.elapsed_minutes) == (ACTIVE, 10)
    assert weekend.due_at == FRIDAY + timedelta(days=3, hours=9, minutes=50)
    assert weekend.warn_at == FRIDAY + timedelta(days=3, hours=9, minutes=35)  # 15 business minutes before due


def test_a_reply_after_closing_time_past_the_due_moment_is_a_breach_by_the_clock() -> None:
    office = applied("office", calendar=OFFICE, calendar_id="office", targets={FR: 30})
    story = Story(at=FRIDAY + timedelta(hours=16, minutes=30)).on(FRIDAY + timedelta(hours=17, minutes=30)).say()
    status = of(story.fold(office).status(story.now), FR)

    assert (status.state, status.breached_at, status.elapsed_minutes, status.remaining_minutes) == (
        BREACHED,
        FRIDAY + timedelta(hours=17),
        30,
        0,
    )


# --- recompute, storage, robustness -------------------------------------------------------------------


def test_recompute_folds_a_whole_history_under_any_policy_version() -> None:
    events = Story().at(45).say().at(200).move(Status.SOLVED).events

    v1 = recompute(events, applied(version=1), minute(300))
    v2 = recompute(events, applied(version=2, targets={FR: 30, RES: 180}), minute(300))

    assert [(s.target, s.state, s.policy_version) for s in v1] == [(FR, MET, 1), (RES, MET, 1)]
    assert [(s.target, s.state, s.policy_version) for s in v2] == [(FR, BREACHED, 2), (RES, BREACHED, 2)]


def test_a_stored_clock_goes_on_folding_where_it_stopped() -> None:
    office = applied("office", calendar=OFFICE, calendar_id="office")
    story = Story().at(10).say().at(20).say(REQUESTER).at(30).move(Status.PENDING)
    clock = story.fold(office)
    stored = json.loads(json.dumps(clock.as_dict()))

    restored = SlaClock.from_dict(stored, CALENDARS.__getitem__)
    assert restored.as_dict() == clock.as_dict()
    assert restored.facts() == clock.facts()

    story.at(60).move(Status.OPEN).at(70).say()
    for event in story.events[-2:]:
        restored.apply(event, office)
    assert restored.status(minute(80)) == story.fold(office).status(minute(80))


def test_a_stored_clock_needs_its_calendar() -> None:
    clock = Story().fold(applied("office", calendar=OFFICE, calendar_id="office"))

    with pytest.raises(InvalidValueError, match="calendar 'office'"):
        SlaClock.from_dict(clock.as_dict())


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("tracks"),
        lambda d: d.update(status="lost"),
        lambda d: d.update(last_at="yesterday"),
        lambda d: d.update(last_at="2026-03-02T09:00:00"),
        lambda d: d["tracks"]["first_response"].update(measured="a lot"),
    ],
    ids=["no-tracks", "unknown-status", "bad-moment", "naive-moment", "bad-number"],
)
def test_a_malformed_stored_clock_is_refused_clearly(damage: Any) -> None:
    data = Story().fold().as_dict()
    damage(data)

    with pytest.raises(InvalidValueError, match=r"stored SLA clock is malformed|moment"):
        SlaClock.from_dict(data)


class Unrelated(Aggregate):
    """Another aggregate, whose events an SLA clock ignores."""

    def __init__(self) -> None:
        """It records nothing of its own: only that it exists."""


def test_events_that_do_not_bear_on_slas_are_ignored() -> None:
    story = Story()
    clock = story.fold()
    before = clock.as_dict()

    clock.apply(object(), STANDARD)
    clock.apply(Unrelated().collect_events()[0], STANDARD)
    story.at(10).set_field("seats", FieldValue.parse("number", 3)).tag("vip")
    for event in story.events[1:]:
        clock.apply(event, STANDARD)

    assert {k: v for k, v in clock.as_dict().items() if k not in {"facts", "last_at"}} == {
        k: v for k, v in before.items() if k not in {"facts", "last_at"}
    }
    facts = clock.facts()
    assert facts is not None
    assert facts.tags == {"vip"}


def test_events_before_the_opening_are_ignored_and_another_ticket_s_are_refused() -> None:
    first, second = Story().at(10).say(), Story()
    clock = SlaClock.start()
    for event in first.events[1:]:
        clock.apply(event, STANDARD)
    assert clock.as_dict() == SlaClock.start().as_dict()
    assert clock.facts() is None

    clock.apply(first.events[0], STANDARD)
    with pytest.raises(InvalidValueError, match="follows ticket"):
        clock.apply(second.events[0], STANDARD)


def test_a_moment_before_the_last_event_reads_as_the_last_event() -> None:
    clock = Story().at(30).say().fold()

    assert clock.status(minute(10)) == clock.status(minute(30))
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        clock.status(datetime(2026, 3, 2, 10, 0))


def test_facts_follow_the_ticket() -> None:
    story = Story(priority="high", ticket_type="incident", organisation="acme-emea", tags=["printer"])
    story.assign("hardware").retype("problem")

    assert story.fold().facts() == TicketFacts(
        priority=Priority.HIGH,
        group="hardware",
        ticket_type="problem",
        organisation="acme-emea",
        tags=frozenset({"printer"}),
        requester="bob",  # whose customer tier a policy may name (the read model looks it up)
    )


def test_the_built_in_calendar_time_counts_every_minute() -> None:
    later = START + timedelta(days=2, minutes=7)

    assert CALENDAR_TIME.business_minutes_between(START, later) == ALWAYS.business_minutes_between(START, later)
    assert CALENDAR_TIME.add_business_minutes(START, 2887) == later
    assert CALENDAR_TIME.business_minutes_between(later, START) == 0


# --- policy terms ---------------------------------------------------------------------------------------

FACTS = TicketFacts(
    priority=Priority.HIGH, group="hardware", ticket_type="incident", tags=frozenset({"printer", "vip"})
)


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        (PolicyConditions(), True),
        (PolicyConditions(priorities=frozenset({Priority.HIGH, Priority.URGENT})), True),
        (PolicyConditions(priorities=frozenset({Priority.URGENT})), False),
        (PolicyConditions(groups=frozenset({"hardware"}), types=frozenset({"incident"})), True),
        (PolicyConditions(groups=frozenset({"network"})), False),
        (PolicyConditions(organisations=frozenset({"acme-emea"})), False),  # the ticket has no organisation
        (PolicyConditions(tags=frozenset({"vip", "gold"})), True),  # any one listed tag is enough
        (PolicyConditions(tags=frozenset({"gold"})), False),
    ],
)
def test_conditions_match_ticket_facts(conditions: PolicyConditions, matches: bool) -> None:
    assert conditions.matches(FACTS) is matches


def test_the_first_matching_policy_wins() -> None:
    vip = PolicyTerms(name="VIP", targets={FR: 15}, conditions=PolicyConditions(tags=frozenset({"vip"})))
    high = PolicyTerms(
        name="High", targets={FR: 30}, conditions=PolicyConditions(priorities=frozenset({Priority.HIGH}))
    )
    anything = PolicyTerms(name="Default", targets={FR: 60})

    assert select_policy([("high", high), ("vip", vip), ("any", anything)], FACTS) == ("high", high)
    assert select_policy([("vip", vip), ("high", high)], FACTS) == ("vip", vip)
    assert select_policy([("high", high)], TicketFacts()) is None
    assert select_policy([], FACTS) is None


def test_policy_terms_round_trip_through_plain_values() -> None:
    terms = PolicyTerms(
        name="  Gold customers ",
        conditions=PolicyConditions(priorities=frozenset({Priority.URGENT}), organisations=frozenset({"acme"})),
        calendar_id="office",
        targets={RES: 480, FR: 30},
        pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD}),
        warning_minutes=0,
        escalation=Escalation(raise_priority_to=Priority.URGENT, reassign_group="tier-2", notify=("carol", "dave")),
    )
    plain = json.loads(json.dumps(terms.as_dict()))

    assert PolicyTerms.from_dict(plain) == terms
    assert terms.name == "Gold customers"
    assert list(terms.targets) == [FR, RES]
    assert LooseTerms(name="Loose", targets={"resolution": 60}, pause_statuses=["on_hold"]) == PolicyTerms(
        name="Loose", targets={RES: 60}, pause_statuses=frozenset({Status.ON_HOLD})
    )
    assert PolicyTerms.from_dict({"name": "Minimal", "targets": {"resolution": 60}}) == PolicyTerms(
        name="Minimal", targets={RES: 60}
    )
    assert TicketFacts.from_dict(json.loads(json.dumps(FACTS.as_dict()))) == FACTS
    assert hash(terms) == hash(PolicyTerms.from_dict(plain))


# Untyped aliases, to hand the constructors what a careless caller might.
LooseTerms: Any = PolicyTerms
LooseConditions: Any = PolicyConditions
LooseEscalation: Any = Escalation


INVALID_VALUES: list[tuple[Any, str]] = [
    (lambda: LooseTerms(name=" ", targets={FR: 5}), "policy name"),
    (lambda: LooseTerms(name="P", targets={}), "at least one target"),
    (lambda: LooseTerms(name="P", targets={"first_reply": 5}), "SLA target must be one of"),
    (lambda: LooseTerms(name="P", targets={FR: 0}), "first_response target must be a whole number"),
    (lambda: LooseTerms(name="P", targets={FR: 1.5}), "whole number"),
    (lambda: LooseTerms(name="P", targets={FR: True}), "whole number"),
    (lambda: LooseTerms(name="P", targets={FR: 5}, warning_minutes=-1), "warning_minutes"),
    (lambda: LooseTerms(name="P", targets={FR: 5}, pause_statuses=frozenset({"solved"})), "pause only in"),
    (lambda: LooseTerms(name="P", targets={FR: 5}, pause_statuses=frozenset({"paused"})), "pause status must"),
    (lambda: LooseTerms(name="P", targets={FR: 5}, calendar_id="office hours"), "calendar id"),
    (lambda: LooseConditions(priorities=frozenset({"critical"})), "priority must be one of"),
    (lambda: LooseConditions(tags="vip"), "collection"),
    (lambda: LooseConditions(tags=frozenset({"V I P"})), "tag must be a lowercase slug"),
    (lambda: LooseConditions(groups=frozenset({"tier 2"})), "group must be"),
    (LooseEscalation, "must raise the priority"),
    (lambda: LooseEscalation(notify=("carol", "carol")), "must not repeat"),
    (lambda: LooseEscalation(reassign_group="tier 2"), "escalation group"),
    (lambda: AppliedPolicy(policy_id="p", version=0, terms=STANDARD.terms, calendar=ALWAYS), "version"),
    (lambda: PolicyTerms.from_dict({"name": "P"}), "policy terms is malformed"),
    (lambda: PolicyTerms.from_dict({"name": "P", "targets": [5]}), "target -> minutes"),
    (lambda: PolicyConditions.from_dict({"tags": "vip"}), "tags must be a list of strings"),
    (lambda: TicketFacts.from_dict({"priority": "high"}), "ticket facts is malformed"),
]


@pytest.mark.parametrize(("build", "message"), INVALID_VALUES, ids=[message for _, message in INVALID_VALUES])
def test_invalid_policy_values_are_refused_clearly(build: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        build()


def test_a_target_status_round_trips_through_plain_values() -> None:
    statuses = Story().at(70).say().at(80).say(REQUESTER).fold().status(minute(90))

    assert [TargetStatus.from_dict(json.loads(json.dumps(s.as_dict()))) for s in statuses] == statuses


# --- properties ---------------------------------------------------------------------------------------

URGENT = applied(
    "urgent",
    targets={FR: 30, NR: 20, RES: 120},
    conditions=URGENT_ONLY,
    calendar=CALENDAR_TIME,
    pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD}),
)
HIGH = applied("high", targets={FR: 60, RES: 480}, conditions=HIGH_ONLY, calendar=OFFICE, calendar_id="office")
NORMAL = applied("normal", targets={FR: 240, NR: 120, RES: 1440}, conditions=NORMAL_ONLY, calendar=CALENDAR_TIME)
POLICIES = [URGENT, HIGH, NORMAL]  # low priority: no policy

Action = tuple[str, Any]
ACTIONS: st.SearchStrategy[Action] = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(list(Status))),
    st.tuples(st.just("reopen"), st.none()),
    st.tuples(st.just("say"), st.sampled_from([AGENT, REQUESTER, INTEGRATION])),
    st.tuples(st.just("note"), st.none()),
    st.tuples(st.just("priority"), st.sampled_from(list(Priority))),
)
GAPS = st.integers(0, 20) | st.integers(0, 900)  # minutes between commands: short, or across nights
STEPS = st.lists(st.tuples(GAPS, ACTIONS), max_size=20)


@dataclass
class History:
    """A ticket's events, made by commands that were accepted (rejected ones record nothing)."""

    events: list[Ticket.Event] = field(default_factory=list)

    @property
    def last(self) -> datetime:
        return self.events[-1].timestamp


def history(steps: list[tuple[int, Action]], opener: Actor, priority: Priority) -> History:
    story = Story(by=opener, priority=priority.value)
    for gap, (kind, value) in steps:
        story.later(minutes=gap)
        try:
            if kind == "move":
                story.move(value)
            elif kind == "reopen":
                story.move(Status.OPEN, REQUESTER)
            elif kind == "say":
                story.say(value)
            elif kind == "note":
                story.note()
            else:
                story.prioritise(value)
        except DomainError:
            continue
    return History(story.events)


HISTORIES = st.builds(history, STEPS, st.sampled_from([REQUESTER, AGENT]), st.sampled_from(list(Priority)))
LATER = st.integers(0, 30) | st.integers(0, 5000)


def restored(clock: SlaClock) -> SlaClock:
    return SlaClock.from_dict(json.loads(json.dumps(clock.as_dict())), CALENDARS.__getitem__)


@settings(max_examples=200, deadline=None)
@given(HISTORIES, LATER)
def test_folding_with_a_store_and_reload_after_every_event_equals_folding_at_once(story: History, later: int) -> None:
    at_once = follow(story.events, POLICIES)
    clock = SlaClock.start()
    for event in story.events:
        clock = restored(follow([event], POLICIES, clock))
    now = story.last + timedelta(minutes=later)

    assert clock.as_dict() == at_once.as_dict()
    assert clock.status(now) == at_once.status(now)


@settings(max_examples=200, deadline=None)
@given(HISTORIES, LATER)
def test_elapsed_time_never_exceeds_the_calendar_time_since_the_start(story: History, later: int) -> None:
    clock = follow(story.events, POLICIES)
    now = story.last + timedelta(minutes=later)

    for status in clock.status(now):
        assert 0 <= status.elapsed_minutes <= (now - status.started_at).total_seconds() / 60 + 1e-6
        assert status.pauses >= 0


def running_minutes(events: list[Ticket.Event], until: datetime, pausing: frozenset[Status]) -> float:
    """Minutes spent in a status where the clock runs, from the opening to `until`."""
    total, status, since = 0.0, Status.NEW, events[0].timestamp
    for event in [e for e in events if isinstance(e, Ticket.Transitioned) and e.timestamp <= until]:
        if status not in pausing | {Status.SOLVED, Status.CLOSED}:
            total += (event.timestamp - since).total_seconds() / 60
        status, since = Status(event.new_status), event.timestamp
    if status not in pausing | {Status.SOLVED, Status.CLOSED}:
        total += (until - since).total_seconds() / 60
    return total


@settings(max_examples=200, deadline=None)
@given(HISTORIES, LATER, st.sampled_from([{Status.PENDING}, {Status.PENDING, Status.ON_HOLD}]))
def test_in_calendar_time_elapsed_is_the_time_not_paused_solved_or_closed(
    story: History, later: int, pausing: set[Status]
) -> None:
    policy = applied(targets={FR: 60, RES: 240}, pause_statuses=frozenset(pausing))
    now = story.last + timedelta(minutes=later)
    statuses = recompute(story.events, policy, now)

    assert of(statuses, RES).elapsed_minutes == pytest.approx(
        running_minutes(story.events, now, policy.terms.pause_statuses)
    )
    replies = [e for e in story.events if isinstance(e, Ticket.CommentAdded) and e.public and e.actor_kind == "agent"]
    first_reply = replies[0].timestamp if replies else now
    expected = running_minutes(story.events, first_reply, policy.terms.pause_statuses)
    assert of(statuses, FR).elapsed_minutes == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(HISTORIES, st.lists(LATER, min_size=1, max_size=3))
def test_a_cycle_once_met_or_breached_never_changes_state_again(story: History, waits: list[int]) -> None:
    seen: dict[tuple[SlaTarget, int], TargetState] = {}

    def observe(clock: SlaClock, now: datetime) -> None:
        for status in clock.status(now):
            key = (status.target, status.cycle)
            if seen.get(key) in {MET, BREACHED}:
                assert status.state is seen[key], f"{key} was {seen[key]}, now {status.state} at {now}"
            seen[key] = status.state

    clock = SlaClock.start()
    for event in story.events:
        observe(clock, event.timestamp)
        clock.apply(event, choose(clock, event, POLICIES))
        observe(clock, event.timestamp)
    for wait in sorted(waits):
        observe(clock, story.last + timedelta(minutes=wait))


# --- dues beyond the calendar's horizon ------------------------------------------------------------------------------

#: Open one minute a week, as calendars stored before the weekly minimum may be: 10,000 minutes are 192 years away.
SPARSE = BusinessCalendar("UTC", (WorkingInterval(0, time(9), time(9, 1)),))
NO_DUE_REASON = "the calendar's working time reaches the target only more than 100 years later"


def test_a_due_beyond_the_calendar_s_horizon_is_no_due_with_a_reason_and_never_breaches() -> None:
    sparse = applied("sparse", calendar=SPARSE, calendar_id="sparse", targets={FR: 30, RES: 10_000})
    story = Story()

    status = of(story.fold(sparse).status(START + timedelta(days=365 * 90)), RES)

    assert (status.state, status.due_at, status.warn_at, status.breached_at) == (ACTIVE, None, None, None)
    assert status.no_due_reason == NO_DUE_REASON
    first = of(story.fold(sparse).status(START), FR)
    assert first.due_at is not None  # 30 Mondays: within the horizon
    assert first.no_due_reason is None


def test_a_target_without_a_due_is_met_by_its_fulfilment_and_recompute_agrees() -> None:
    sparse = applied("sparse", calendar=SPARSE, calendar_id="sparse", targets={RES: 10_000})
    events = Story().at(60).say().later(days=30).move(Status.SOLVED).events

    (resolution,) = recompute(events, sparse, minute(0) + timedelta(days=60))

    assert (resolution.state, resolution.due_at, resolution.no_due_reason) == (MET, None, None)
    assert TargetStatus.from_dict(json.loads(json.dumps(resolution.as_dict()))) == resolution


def test_calendar_time_past_the_year_9999_is_no_due() -> None:
    late = datetime(9999, 6, 1, tzinfo=UTC)
    always = applied(calendar=CALENDAR_TIME, targets={RES: 525_600})

    (resolution,) = Story(at=late).fold(always).status(late)

    assert (resolution.due_at, resolution.no_due_reason) == (
        None,
        "the calendar's working time reaches the target only after the year 9999",
    )


TIERS = st.sampled_from(["gold", "silver", "bronze"])


@given(st.frozensets(TIERS), st.one_of(st.none(), TIERS))
def test_a_policy_naming_tiers_covers_exactly_the_customers_of_those_tiers(
    tiers: frozenset[str], tier: str | None
) -> None:
    conditions = PolicyConditions(customer_tiers=tiers)
    facts = TicketFacts(requester="bob", customer_tier=tier)

    assert conditions.matches(facts) is (not tiers or tier in tiers)
    assert PolicyConditions.from_dict(conditions.as_dict()) == conditions
    assert TicketFacts.from_dict(facts.as_dict()) == facts


def test_conditions_and_facts_stored_before_tiers_read_back_as_any_tier_and_no_requester() -> None:
    stored_facts = {"priority": "high", "group": None, "ticket_type": None, "organisation": None, "tags": []}
    assert TicketFacts.from_dict(stored_facts) == TicketFacts(priority=Priority.HIGH)
    assert PolicyConditions.from_dict({"tags": ["vip"]}).customer_tiers == frozenset()
    with pytest.raises(InvalidValueError, match="customer tier"):
        PolicyConditions(customer_tiers=frozenset({"Gold Members"}))
