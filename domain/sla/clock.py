"""The SLA clock: a pure, incremental fold of one ticket's events under the policy in force.

The clock (`SlaClock`) folds a ticket's events one at a time. With each event the caller passes
the policy that applies to the ticket *after* that event (`facts_after(event)` says what the
ticket looks like then), or None. The clock never reads the time: moments come from the events,
and `status(now)` is asked about a given moment. Its state is plain JSON-safe values (`as_dict` /
`from_dict`), so a projection can store it per ticket and go on folding later.

What each target means (first response, next response, resolution), when it starts, pauses,
stops and restarts, and how warnings and breaches follow: docs/sla.md, the one statement of it.
An event of another ticket is refused with InvalidValueError; an event moment earlier than the
previous event's is treated as the previous event's moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from domain.actors import ActorKind
from domain.errors import InvalidValueError
from domain.sla.calendar import BeyondHorizonError
from domain.sla.conditions import TicketFacts
from domain.sla.policy import (
    CALENDAR_TIME,
    DEFAULT_PAUSE_STATUSES,
    AppliedPolicy,
    Calendar,
    PolicyTerms,
    SlaTarget,
    TargetState,
)
from domain.sla.stored_form import iso_text, parse_moment, parse_optional_moment, parse_with
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import Priority

#: Statuses in which no target runs, whatever the policy says.
_HOLDING_STATUSES = frozenset({Status.SOLVED, Status.CLOSED})
#: Elapsed minutes within this of a target are on it (sums of calendar readings are floats).
_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetStatus:
    """One target of one ticket at a moment (see the module documentation for each field)."""

    target: SlaTarget
    policy_id: str
    policy_version: int
    target_minutes: int
    state: TargetState
    cycle: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    elapsed_minutes: float
    remaining_minutes: float
    fulfilled_at: datetime | None
    breached_at: datetime | None
    pauses: int
    ended_at: datetime | None
    no_due_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (moments as ISO-8601 strings)."""
        return {
            "target": self.target.value,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "target_minutes": self.target_minutes,
            "state": self.state.value,
            "cycle": self.cycle,
            "started_at": self.started_at.isoformat(),
            "due_at": iso_text(self.due_at),
            "warn_at": iso_text(self.warn_at),
            "elapsed_minutes": self.elapsed_minutes,
            "remaining_minutes": self.remaining_minutes,
            "fulfilled_at": iso_text(self.fulfilled_at),
            "breached_at": iso_text(self.breached_at),
            "pauses": self.pauses,
            "ended_at": iso_text(self.ended_at),
            "no_due_reason": self.no_due_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetStatus:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return parse_with(
            "target status",
            lambda: cls(
                target=SlaTarget(data["target"]),
                policy_id=str(data["policy_id"]),
                policy_version=int(data["policy_version"]),
                target_minutes=int(data["target_minutes"]),
                state=TargetState(data["state"]),
                cycle=int(data["cycle"]),
                started_at=parse_moment(data["started_at"]),
                due_at=parse_optional_moment(data["due_at"]),
                warn_at=parse_optional_moment(data["warn_at"]),
                elapsed_minutes=float(data["elapsed_minutes"]),
                remaining_minutes=float(data["remaining_minutes"]),
                fulfilled_at=parse_optional_moment(data["fulfilled_at"]),
                breached_at=parse_optional_moment(data["breached_at"]),
                pauses=int(data["pauses"]),
                ended_at=parse_optional_moment(data["ended_at"]),
                no_due_reason=data.get("no_due_reason"),
            ),
        )


# --- the clock ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Judgement:
    """The policy a finished cycle was judged under."""

    policy_id: str
    version: int
    target_minutes: int


@dataclass(slots=True)
class _Track:
    """One target's current (or last) cycle."""

    cycle: int
    started_at: datetime
    measured: float = 0.0  # business minutes of closed running periods, each in the calendar then in force
    unmeasured: list[tuple[datetime, datetime]] = field(default_factory=list)  # closed while untracked
    running_since: datetime | None = None
    fulfilled_at: datetime | None = None
    breached_at: datetime | None = None
    pauses: int = 0
    judged: _Judgement | None = None
    due_at_fulfilment: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        judged = self.judged
        return {
            "cycle": self.cycle,
            "started_at": self.started_at.isoformat(),
            "measured": self.measured,
            "unmeasured": [[start.isoformat(), end.isoformat()] for start, end in self.unmeasured],
            "running_since": iso_text(self.running_since),
            "fulfilled_at": iso_text(self.fulfilled_at),
            "breached_at": iso_text(self.breached_at),
            "pauses": self.pauses,
            "judged": None
            if judged is None
            else {"policy_id": judged.policy_id, "version": judged.version, "target_minutes": judged.target_minutes},
            "due_at_fulfilment": iso_text(self.due_at_fulfilment),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _Track:
        judged = data["judged"]
        return cls(
            cycle=int(data["cycle"]),
            started_at=parse_moment(data["started_at"]),
            measured=float(data["measured"]),
            unmeasured=[(parse_moment(start), parse_moment(end)) for start, end in data["unmeasured"]],
            running_since=parse_optional_moment(data["running_since"]),
            fulfilled_at=parse_optional_moment(data["fulfilled_at"]),
            breached_at=parse_optional_moment(data["breached_at"]),
            pauses=int(data["pauses"]),
            judged=None
            if judged is None
            else _Judgement(str(judged["policy_id"]), int(judged["version"]), int(judged["target_minutes"])),
            due_at_fulfilment=parse_optional_moment(data["due_at_fulfilment"]),
        )


CalendarLookup = Callable[[str], Calendar]


@dataclass(frozen=True, slots=True)
class _Due:
    """A due moment, or None and the reason there is none."""

    moment: datetime | None
    reason: str | None = None


def _due_after(calendar: Calendar, start: datetime, minutes: float) -> _Due:
    """`minutes` of the calendar's business time after `start`; past the calendar's horizon, no due."""
    try:
        return _Due(calendar.add_business_minutes(start, minutes))
    except BeyondHorizonError as beyond:
        return _Due(None, f"the calendar's working time reaches the target only {beyond.reason}")


def _waiting(track: _Track | None) -> bool:
    """Whether a next-response cycle is under way (not yet answered)."""
    return track is not None and track.fulfilled_at is None


class SlaClock:
    """The SLA targets of one ticket, folded incrementally from its events (see the module docs)."""

    def __init__(self) -> None:
        self._ticket_id: str | None = None
        self._opened_at: datetime | None = None
        self._last_at: datetime | None = None
        self._closed_at: datetime | None = None
        self._status = Status.NEW
        self._facts: TicketFacts | None = None
        self._policy: AppliedPolicy | None = None
        self._tracks: dict[SlaTarget, _Track] = {}

    @classmethod
    def start(cls) -> SlaClock:
        """A clock that has seen no event yet."""
        return cls()

    # --- queries -----------------------------------------------------------------------------------

    def facts(self) -> TicketFacts | None:
        """The ticket attributes known so far (None before the ticket was opened)."""
        return self._facts

    def facts_after(self, event: object) -> TicketFacts | None:
        """The ticket attributes once `event` is folded, to select the policy to fold it with."""
        facts = self._facts
        if isinstance(event, Ticket.Opened) and facts is None:
            return TicketFacts(
                priority=Priority(event.priority),
                ticket_type=event.ticket_type,
                organisation=event.organisation,
                tags=frozenset(event.tags),
            )
        if facts is None or self._closed_at is not None:
            return facts
        return replace(facts, **_changed_facts(event))

    @property
    def policy(self) -> AppliedPolicy | None:
        """The policy in force after the last folded event."""
        return self._policy

    def status(self, now: datetime) -> list[TargetStatus]:
        """Every target the policy in force tracks and that has started, as it stands at `now`."""
        policy = self._policy
        if policy is None:
            return []
        at = self._moment(now)
        return [
            self._report(target, self._tracks[target], policy, at)
            for target in SlaTarget
            if target in self._tracks and target in policy.terms.targets
        ]

    # --- folding ----------------------------------------------------------------------------------

    def apply(self, event: object, policy: AppliedPolicy | None) -> None:
        """Fold one event; `policy` is the one that applies to the ticket after this event."""
        if not isinstance(event, Ticket.Event):
            return
        ticket_id = str(event.originator_id)
        if self._ticket_id not in (None, ticket_id):
            msg = f"this SLA clock follows ticket {self._ticket_id}, not {ticket_id}"
            raise InvalidValueError(msg)
        opening = isinstance(event, Ticket.Opened)
        if (self._opened_at is None) is not opening or self._closed_at is not None:
            return  # nothing happens before the opening or after the closing, and a ticket opens once
        self._ticket_id = ticket_id
        at = self._moment(event.timestamp)
        self._record_breaches(at)
        self._facts = self.facts_after(event)
        if opening:
            self._open(at)
        elif isinstance(event, Ticket.Transitioned):
            self._transition(Status(event.new_status), at)
        elif isinstance(event, Ticket.CommentAdded) and event.public:
            self._comment(event.actor_kind, at)
        self._adopt(policy, at)
        self._settle(at)
        self._last_at = at

    def _moment(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            msg = f"SLA moments must be timezone-aware (got {moment.isoformat()})"
            raise InvalidValueError(msg)
        moment = moment.astimezone(UTC)
        return moment if self._last_at is None else max(moment, self._last_at)

    def _open(self, at: datetime) -> None:
        self._opened_at = at
        self._tracks[SlaTarget.FIRST_RESPONSE] = _Track(cycle=1, started_at=at, running_since=at)
        self._tracks[SlaTarget.RESOLUTION] = _Track(cycle=1, started_at=at, running_since=at)

    def _transition(self, new: Status, at: datetime) -> None:
        old, self._status = self._status, new
        resolution = self._tracks[SlaTarget.RESOLUTION]
        if new is Status.SOLVED:
            self._fulfil(SlaTarget.RESOLUTION, at)
        elif old is Status.SOLVED and new is not Status.CLOSED:
            # A reopen: the same clock resumes, as a new cycle judged afresh.
            resolution.cycle += 1
            resolution.running_since = at
            resolution.fulfilled_at = resolution.breached_at = resolution.due_at_fulfilment = None
            resolution.judged = None
        if new is Status.CLOSED:
            self._closed_at = at

    def _comment(self, actor_kind: str, at: datetime) -> None:
        first = self._tracks[SlaTarget.FIRST_RESPONSE]
        following = self._tracks.get(SlaTarget.NEXT_RESPONSE)
        if actor_kind == ActorKind.AGENT:
            if first.fulfilled_at is None:
                self._fulfil(SlaTarget.FIRST_RESPONSE, at)
            elif _waiting(following):
                self._fulfil(SlaTarget.NEXT_RESPONSE, at)
        elif actor_kind == ActorKind.REQUESTER and first.fulfilled_at is not None and not _waiting(following):
            cycle = 1 if following is None else following.cycle + 1
            self._tracks[SlaTarget.NEXT_RESPONSE] = _Track(cycle=cycle, started_at=at, running_since=at)

    def _fulfil(self, target: SlaTarget, at: datetime) -> None:
        track = self._tracks[target]
        if track.fulfilled_at is not None:
            return
        minutes = self._target_minutes(target)
        if track.running_since is not None and minutes is not None:
            track.due_at_fulfilment = self._due(track, minutes).moment
        self._close_period(target, at)
        track.fulfilled_at = at
        if minutes is not None:
            track.judged = self._judgement(minutes)

    def _record_breaches(self, at: datetime) -> None:
        """Mark running targets whose due moment passed before `at` (under the policy then in force)."""
        for target, track in self._tracks.items():
            minutes = self._target_minutes(target)
            if minutes is None or track.running_since is None or track.breached_at is not None:
                continue
            due = self._due(track, minutes).moment
            if due is not None and at > due:
                track.breached_at = due

    def _adopt(self, policy: AppliedPolicy | None, at: datetime) -> None:
        """Put a policy in force from `at` (nothing changes if it is the one in force)."""
        if policy is None and self._policy is None:
            return
        if policy is not None and policy.same_as(self._policy):
            self._policy = policy  # the same terms; keep the caller's calendar object
            return
        for target, track in self._tracks.items():
            if track.running_since is not None:
                self._close_period(target, at)  # measured under the old policy's calendar
                track.running_since = at
        self._policy = policy
        for target, track in self._tracks.items():
            minutes = self._target_minutes(target)
            if minutes is None or policy is None:
                continue
            track.measured += sum(policy.calendar.business_minutes_between(s, e) for s, e in track.unmeasured)
            track.unmeasured.clear()
            fulfilled_at = track.fulfilled_at
            if fulfilled_at is not None and track.judged is None:
                if track.breached_at is None and track.measured - minutes > _TOLERANCE:
                    track.breached_at = fulfilled_at
                track.judged = self._judgement(minutes)

    def _settle(self, at: datetime) -> None:
        """Make every unfulfilled target run or pause as the status and policy now say."""
        for target, track in self._tracks.items():
            if track.fulfilled_at is not None:
                continue
            minutes = self._target_minutes(target)
            if minutes is not None and track.breached_at is None and track.measured - minutes > _TOLERANCE:
                track.breached_at = at  # over the target already: a new cycle or a stricter policy
            runs = self._runs()
            if runs and track.running_since is None:
                track.running_since = at
            elif not runs and track.running_since is not None:
                self._close_period(target, at)
                track.pauses += 1

    def _runs(self) -> bool:
        if self._closed_at is not None or self._status in _HOLDING_STATUSES:
            return False
        pausing = DEFAULT_PAUSE_STATUSES if self._policy is None else self._policy.terms.pause_statuses
        return self._status not in pausing

    def _close_period(self, target: SlaTarget, at: datetime) -> None:
        """End the target's running period at `at`, measuring it if the policy in force tracks the target."""
        track = self._tracks[target]
        start, track.running_since = track.running_since, None
        if start is None or at <= start:
            return
        if self._policy is not None and self._target_minutes(target) is not None:
            track.measured += self._policy.calendar.business_minutes_between(start, at)
        else:
            track.unmeasured.append((start, at))

    def _target_minutes(self, target: SlaTarget) -> int | None:
        return None if self._policy is None else self._policy.terms.targets.get(target)

    def _judgement(self, minutes: int) -> _Judgement:
        assert self._policy is not None
        return _Judgement(self._policy.policy_id, self._policy.version, minutes)

    def _due(self, track: _Track, minutes: float) -> _Due:
        """When the running target's elapsed time reaches `minutes`, or no due and why."""
        assert self._policy is not None
        assert track.running_since is not None
        return _due_after(self._policy.calendar, track.running_since, max(minutes - track.measured, 0.0))

    # --- reporting ---------------------------------------------------------------------------------

    def _report(self, target: SlaTarget, track: _Track, policy: AppliedPolicy, at: datetime) -> TargetStatus:
        current = _Judgement(policy.policy_id, policy.version, policy.terms.targets[target])
        if track.fulfilled_at is not None:
            state = TargetState.MET if track.breached_at is None else TargetState.BREACHED
            judged = track.judged or current
            return self._target_status(target, track, judged, state, track.measured, track.due_at_fulfilment, None)
        if track.running_since is None:
            state = TargetState.PAUSED if track.breached_at is None else TargetState.BREACHED
            return self._target_status(target, track, current, state, track.measured, None, None)
        minutes = current.target_minutes
        calendar = policy.calendar
        elapsed = track.measured + calendar.business_minutes_between(track.running_since, at)
        due = self._due(track, minutes)
        due_at = due.moment
        breached_at = track.breached_at or (due_at if due_at is not None and at > due_at else None)
        if breached_at is not None:
            return self._target_status(
                target, track, current, TargetState.BREACHED, elapsed, due_at, None, breached_at=breached_at
            )
        lead = max(minutes - policy.terms.warning_minutes - track.measured, 0.0)
        warn_at = _due_after(calendar, track.running_since, lead).moment
        return self._target_status(
            target, track, current, TargetState.ACTIVE, elapsed, due_at, warn_at, no_due_reason=due.reason
        )

    def _target_status(
        self,
        target: SlaTarget,
        track: _Track,
        judged: _Judgement,
        state: TargetState,
        elapsed: float,
        due_at: datetime | None,
        warn_at: datetime | None,
        *,
        breached_at: datetime | None = None,
        no_due_reason: str | None = None,
    ) -> TargetStatus:
        return TargetStatus(
            target=target,
            policy_id=judged.policy_id,
            policy_version=judged.version,
            target_minutes=judged.target_minutes,
            state=state,
            cycle=track.cycle,
            started_at=track.started_at,
            due_at=due_at,
            warn_at=warn_at,
            elapsed_minutes=elapsed,
            remaining_minutes=judged.target_minutes - elapsed,
            fulfilled_at=track.fulfilled_at,
            breached_at=breached_at or track.breached_at,
            pauses=track.pauses,
            ended_at=self._closed_at,
            no_due_reason=no_due_reason,
        )

    # --- storing -----------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The clock's whole state as plain JSON-safe values (moments as ISO-8601 strings).

        The policy in force is stored with its terms; its calendar is stored by id only.
        """
        policy = self._policy
        return {
            "ticket_id": self._ticket_id,
            "opened_at": iso_text(self._opened_at),
            "last_at": iso_text(self._last_at),
            "closed_at": iso_text(self._closed_at),
            "status": self._status.value,
            "facts": None if self._facts is None else self._facts.as_dict(),
            "policy": None
            if policy is None
            else {"policy_id": policy.policy_id, "version": policy.version, "terms": policy.terms.as_dict()},
            "tracks": {target.value: track.as_dict() for target, track in self._tracks.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], calendars: CalendarLookup | None = None) -> SlaClock:
        """Rebuild a stored clock; `calendars` finds a calendar by id (calendar time needs none)."""
        return parse_with("stored SLA clock", lambda: cls._restore(data, calendars))

    @classmethod
    def _restore(cls, data: Mapping[str, Any], calendars: CalendarLookup | None) -> SlaClock:
        clock = cls()
        ticket_id = data["ticket_id"]
        clock._ticket_id = None if ticket_id is None else str(ticket_id)
        clock._opened_at = parse_optional_moment(data["opened_at"])
        clock._last_at = parse_optional_moment(data["last_at"])
        clock._closed_at = parse_optional_moment(data["closed_at"])
        clock._status = Status(data["status"])
        facts = data["facts"]
        clock._facts = None if facts is None else TicketFacts.from_dict(facts)
        policy = data["policy"]
        clock._policy = None if policy is None else _restore_policy(policy, calendars)
        clock._tracks = {SlaTarget(name): _Track.from_dict(track) for name, track in data["tracks"].items()}
        return clock


def recompute(events: Iterable[object], policy: AppliedPolicy, now: datetime) -> list[TargetStatus]:
    """Every target of one ticket at `now`, folding its whole history under one fixed policy."""
    clock = SlaClock.start()
    for event in events:
        clock.apply(event, policy)
    return clock.status(now)


# --- parsing helpers ------------------------------------------------------------------------------


def _changed_facts(event: object) -> dict[str, Any]:
    """The ticket facts an event changes, as keyword arguments for `replace`."""
    changes: dict[str, Any] = {}
    if isinstance(event, Ticket.PriorityChanged):
        changes["priority"] = Priority(event.new_priority)
    elif isinstance(event, Ticket.Assigned):
        changes["group"] = event.group
    elif isinstance(event, Ticket.TypeChanged):
        changes["ticket_type"] = event.new_type
    elif isinstance(event, Ticket.TagsChanged):
        changes["tags"] = frozenset(event.new_tags)
    return changes


def _restore_policy(data: Mapping[str, Any], calendars: CalendarLookup | None) -> AppliedPolicy:
    terms = PolicyTerms.from_dict(data["terms"])
    if terms.calendar_id is None:
        calendar: Calendar = CALENDAR_TIME
    elif calendars is None:
        msg = f"the stored SLA clock counts in calendar {terms.calendar_id!r}; pass a calendar lookup"
        raise InvalidValueError(msg)
    else:
        calendar = calendars(terms.calendar_id)
    return AppliedPolicy(policy_id=data["policy_id"], version=data["version"], terms=terms, calendar=calendar)
