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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from domain.actors import ActorKind
from domain.errors import InvalidValueError
from domain.sla.conditions import TicketFacts
from domain.sla.policy import (
    CALENDAR_TIME,
    DEFAULT_PAUSE_STATUSES,
    AppliedPolicy,
    Calendar,
    PolicyTerms,
    SlaTarget,
)
from domain.sla.stored_form import iso_text, parse_optional_moment, parse_with
from domain.sla.target_status import TargetStatus, report
from domain.sla.tracks import Due, Judgement, Track, waiting
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import Priority

#: Statuses in which no target runs, whatever the policy says.
_HOLDING_STATUSES = frozenset({Status.SOLVED, Status.CLOSED})
#: Elapsed minutes within this of a target are on it (sums of calendar readings are floats).
_TOLERANCE = 1e-6


CalendarLookup = Callable[[str], Calendar]


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
        self._tracks: dict[SlaTarget, Track] = {}

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
                requester=event.requester_id,
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
            report(target, self._tracks[target], policy, at, self._closed_at)
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
        if isinstance(event, Ticket.Opened):
            self._open(at, by_requester=event.actor_kind == ActorKind.REQUESTER)
            self._status = Status(event.status_category)  # its workflow's initial state counts as this
        elif isinstance(event, Ticket.Transitioned | Ticket.WorkflowMigrated | Ticket.MergedInto):
            # The category of the state is what counts: a `waiting_for_parts` state of category pending pauses.
            self._transition(Status(event.new_category), at)
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

    def _open(self, at: datetime, *, by_requester: bool) -> None:
        self._opened_at = at
        self._tracks[SlaTarget.FIRST_RESPONSE] = Track(cycle=1, started_at=at, running_since=at)
        self._tracks[SlaTarget.RESOLUTION] = Track(cycle=1, started_at=at, running_since=at)
        if by_requester:  # the request itself is the customer's first message
            self._tracks[SlaTarget.UPDATE] = Track(cycle=1, started_at=at, running_since=at)

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
        if actor_kind == ActorKind.AGENT:
            if first.fulfilled_at is None:
                self._fulfil(SlaTarget.FIRST_RESPONSE, at)
            elif waiting(self._tracks.get(SlaTarget.NEXT_RESPONSE)):
                self._fulfil(SlaTarget.NEXT_RESPONSE, at)
            if waiting(self._tracks.get(SlaTarget.UPDATE)):
                self._fulfil(SlaTarget.UPDATE, at)
        elif actor_kind == ActorKind.REQUESTER:
            if first.fulfilled_at is not None:  # before it, the first response answers the requester
                self._await_answer(SlaTarget.NEXT_RESPONSE, at)
            self._await_answer(SlaTarget.UPDATE, at)

    def _await_answer(self, target: SlaTarget, at: datetime) -> None:
        """A requester's message starts a cycle of `target`, unless one still waits for its answer."""
        following = self._tracks.get(target)
        if not waiting(following):
            cycle = 1 if following is None else following.cycle + 1
            self._tracks[target] = Track(cycle=cycle, started_at=at, running_since=at)

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

    def _judgement(self, minutes: int) -> Judgement:
        assert self._policy is not None
        return Judgement(self._policy.policy_id, self._policy.version, minutes)

    def _due(self, track: Track, minutes: float) -> Due:
        """When the running target's elapsed time reaches `minutes`, or no due and why."""
        assert self._policy is not None
        return track.due(self._policy.calendar, minutes)

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
        clock._tracks = {SlaTarget(name): Track.from_dict(track) for name, track in data["tracks"].items()}
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
