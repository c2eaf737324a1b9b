"""SLA policy terms, and the SLA clock: a pure, incremental fold of one ticket's events.

A **policy** (`PolicyTerms`) applies to the tickets its conditions match; in an ordered list the
first match wins (`select_policy`). It sets targets in minutes, counted in the business time of
one calendar (`calendar_id`; None means calendar time, every minute of every day).

The **clock** (`SlaClock`) folds a ticket's events one at a time. With each event the caller
passes the policy that applies to the ticket *after* that event (`facts_after(event)` says what
the ticket looks like then), or None. The clock never reads the time: moments come from the
events, and `status(now)` is asked about a given moment. Its state is plain JSON-safe values
(`as_dict` / `from_dict`), so a projection can store it per ticket and go on folding later.

## Targets

- `first_response` starts when the ticket is opened. Only a **public comment by an agent**
  (actor kind `agent`) fulfils it: internal notes never do, nor do comments of requesters, API
  clients or system processes. A ticket an agent opened on the requester's behalf is no
  exception: its description is not a response, and the clock runs to the agent's next public
  reply. It has one cycle.
- `next_response` exists only once the first response has been given. A public requester
  comment then starts a cycle unless one is unfulfilled (running, paused or breached): the
  cycle starts at the **oldest** unanswered requester comment, and further requester comments
  do not restart it. The next public agent reply fulfils it. Cycles are numbered 1, 2, ...;
  each has its own elapsed time, pauses and state, and `status` reports the current or last
  cycle (nothing before the first cycle). Requester comments before the first response are
  answered by the first response; only actor kind `requester` starts a cycle.
- `resolution` starts when the ticket is opened and is fulfilled when it moves to `solved`. Any
  move out of `solved` other than to `closed` is a reopen: the same clock resumes, with its
  elapsed time and pause count carried over, as a new cycle (2, 3, ...) whose state is judged
  afresh. A ticket closed without being solved leaves the target unfulfilled.
- `closed` is final: at that moment every target stops for good. Targets keep the state they
  had (an unfulfilled target that had not breached stays `paused`), and report `ended_at`.

## Running, pausing, elapsed time

- A target runs from its start until it is fulfilled, except while the ticket's status is one
  of the policy's `pause_statuses` (`pending` by default; `on_hold` when configured), or while
  the ticket is `solved` (nobody is waiting for an answer on a solved ticket) or `closed`.
  Leaving those statuses resumes it. `pauses` counts the stretches in which an unfulfilled
  target did not run, including a cycle that starts while the ticket is paused. With no policy
  at all, `pending` pauses.
- `elapsed_minutes` is business time over the running periods only (paused, solved and closed
  time never counts), each period measured in the calendar of the policy that tracked the
  target then (see "Policy changes").
- `due_at` is the moment elapsed reaches the target if the clock keeps running, computed at
  every resume, new cycle or policy change as
  `calendar.add_business_minutes(moment, target - elapsed_so_far)` (the moment itself when no
  time is left). While a target is paused it has no due moment (None). A fulfilled target
  reports the due moment in force when it was fulfilled (None if it was paused then).
- **No due.** When the calendar's working time reaches the target only beyond its horizon
  (more than 100 years later, or after the year 9999: `BeyondHorizonError`), a running target
  has no due moment either: `due_at` is None, `no_due_reason` says why, and the target stays
  `active` (it can never breach by time; it is still met or not by its fulfilment). Such dues
  come only from calendars and targets stored before the limits on new definitions
  (`TARGET_MINUTES_MAX`, `calendar.WEEKLY_MINUTES_MIN`), or from holidays that take out most
  of the working time; they never raise.
- `warn_at` is the moment elapsed reaches `target - warning_minutes`, in business time like
  `due_at` (the moment of the last resume, new cycle or policy change if it already had then).
  It is reported for `active` targets only: a watcher warns once per cycle when `now` reaches
  it.
- `remaining_minutes` is `target_minutes - elapsed_minutes`: negative once the elapsed time has
  passed the target (it can be 0 for a breached target whose due moment was followed by
  non-business time).

## States at `now`

`status(now)` treats a `now` earlier than the last folded event as that event's moment.

- `met`: fulfilled no later than `due_at` (for a target fulfilled while paused: with elapsed no
  more than the target).
- `breached`: the running clock passed `due_at` before the target was fulfilled;
  `breached_at = due_at`. Breaches are decided by moments, not minutes: with business hours
  ending at 17:00 and `due_at` 17:00, a reply at 17:30 is a breach even though no business
  minute passed in between. A paused target that had passed its due moment before the pause
  stays breached; a fulfilment after the due moment stays breached; a breach is never undone,
  not even by a later, more generous policy.
- `active` / `paused`: otherwise, running / not running.

Once a cycle is `met` or `breached` it never returns to `active` or `paused`.

## Policy changes

The policy is compared by (policy id, version, terms) on every event; a change takes effect at
that event's moment.

- Running and paused targets keep their start, elapsed time and pause count. The elapsed time
  measured under the old policy's calendar stays as measured; from the change on, time is
  measured in the new calendar, and `due_at` is recomputed from the new target. If the
  elapsed time is already over the new target, the target is breached at the change moment.
- A target that the new policy lacks (and every target, when the policy is None) is no longer
  reported by `status`, but the clock keeps following it: its start, pauses, cycles and
  fulfilment stay known. Its running periods while untracked are measured, when a later policy
  tracks it again, in that policy's calendar, so no running or pause time is ever lost or
  double counted. A target fulfilled while untracked is judged by minutes when a policy tracks
  it again (breached, at its fulfilment moment, if its elapsed time is over the target).
- A fulfilled target keeps its state and reports the policy it was judged under. An unfulfilled
  breached target stays breached and reports the policy in force (whose more generous target
  can make its `remaining_minutes` positive).
- "Over the target" means by more than 10^-6 minutes: calendar readings are floats.

## Reported fields

`status(now)` lists, in the order first response, next response, resolution, each target that the
policy in force sets and that has started. `policy_id`, `policy_version` and `target_minutes`
are the policy in force, or for a fulfilled cycle the policy it was judged under. `cycle` is 1
for the first response, counts next-response cycles, and counts resolution reopens plus one.
`started_at` is the opening for the first response and for every resolution cycle (the clock is
the same), and the oldest unanswered requester comment for a next-response cycle; `pauses` is
per cycle for next response and carried across resolution cycles. `fulfilled_at` is the reply
or the move to `solved`; `breached_at` the breach moment; `ended_at` the moment the ticket was
closed (None while it is not). `no_due_reason` is set only for an active target without a due
moment (see "No due").

## Other events

Objects that are not ticket events, events before the ticket was opened, a second opening, and
events after it was closed are ignored altogether. Other ticket events that do not bear on SLAs
(custom fields, ratings, erasures, and event types added later, such as SLA warnings and
breaches) change nothing but, possibly, the policy in force. An event of another ticket is
refused with InvalidValueError. An event moment earlier than the previous event's is treated as
the previous event's moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from domain import values
from domain.actors import ActorKind, identifier
from domain.calendar import BeyondHorizonError
from domain.errors import InvalidValueError
from domain.ticket import Ticket
from domain.values import Priority
from domain.workflow import Status

#: The longest target or warning lead a stored policy may carry: ten years of minutes (the limit before
#: TARGET_MINUTES_MAX; policies stored then still load).
MINUTES_MAX = 10 * 365 * 24 * 60
#: The longest target or warning lead a policy defined from now on may set: a year of minutes (525,600). Real
#: targets run from minutes to weeks; a yearly contract term is the longest any help desk states.
TARGET_MINUTES_MAX = 365 * 24 * 60
#: The longest policy name.
NAME_MAX = 200
#: Statuses a policy may pause its targets in.
PAUSABLE_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD})
#: Pause statuses of a policy that names none, and of a ticket no policy applies to.
DEFAULT_PAUSE_STATUSES = frozenset({Status.PENDING})
#: Statuses in which no target runs, whatever the policy says.
_HOLDING_STATUSES = frozenset({Status.SOLVED, Status.CLOSED})
#: Elapsed minutes within this of a target are on it (sums of calendar readings are floats).
_TOLERANCE = 1e-6

K = TypeVar("K")
T = TypeVar("T")


class Calendar(Protocol):
    """Business time: what a policy's minutes are counted in."""

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The earliest moment t with `business_minutes_between(start, t) == minutes` (`start` for 0)."""
        ...

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end` (0 if `end` is not after `start`)."""
        ...


class CalendarTime:
    """Calendar time: every minute of every day counts (the calendar of a policy that names none)."""

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """`start` plus `minutes` minutes, or raise BeyondHorizonError after the year 9999."""
        try:
            return start + timedelta(minutes=max(minutes, 0.0))
        except OverflowError:
            msg = f"{minutes} minutes after {start.isoformat()} end after the year 9999"
            raise BeyondHorizonError(msg, "after the year 9999") from None

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Minutes from `start` to `end`, 0 if `end` is not after `start`."""
        return max((end - start).total_seconds() / 60, 0.0)


CALENDAR_TIME = CalendarTime()


class SlaTarget(StrEnum):
    """What a policy sets a time limit on."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class TargetState(StrEnum):
    """Where a target stands at a moment."""

    ACTIVE = "active"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


# --- value objects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFacts:
    """The ticket attributes a policy matches on."""

    priority: Priority = Priority.NORMAL
    group: str | None = None
    ticket_type: str | None = None
    organisation: str | None = None
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", values.priority(self.priority))
        object.__setattr__(self, "tags", _slugs(self.tags, "tag"))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        return {
            "priority": self.priority.value,
            "group": self.group,
            "ticket_type": self.ticket_type,
            "organisation": self.organisation,
            "tags": sorted(self.tags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketFacts:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return _parsing(
            "ticket facts",
            lambda: cls(
                priority=data["priority"],
                group=data["group"],
                ticket_type=data["ticket_type"],
                organisation=data["organisation"],
                tags=frozenset(_string_list(data["tags"], "tags")),
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConditions:
    """Which tickets a policy applies to. An empty set allows any value.

    A ticket matches when its priority, group, type and organisation are each in the
    corresponding set (a ticket without a group, type or organisation matches only where that
    set is empty), and it carries at least one of the listed tags (any of them, not all).
    """

    priorities: frozenset[Priority] = frozenset()
    groups: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _ensure_collection(self.priorities, "priorities")
        object.__setattr__(self, "priorities", frozenset(values.priority(p) for p in self.priorities))
        object.__setattr__(self, "groups", _identifiers(self.groups, "group"))
        object.__setattr__(self, "types", _slugs(self.types, "type"))
        object.__setattr__(self, "organisations", _identifiers(self.organisations, "organisation"))
        object.__setattr__(self, "tags", _slugs(self.tags, "tag"))

    def matches(self, facts: TicketFacts) -> bool:
        """Whether a ticket with these facts falls under the policy."""
        return (
            _allows(self.priorities, facts.priority)
            and _allows(self.groups, facts.group)
            and _allows(self.types, facts.ticket_type)
            and _allows(self.organisations, facts.organisation)
            and (not self.tags or not self.tags.isdisjoint(facts.tags))
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (sorted lists)."""
        return {
            "priorities": sorted(p.value for p in self.priorities),
            "groups": sorted(self.groups),
            "types": sorted(self.types),
            "organisations": sorted(self.organisations),
            "tags": sorted(self.tags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyConditions:
        """Rebuild from `as_dict` values (missing lists allow any value), or raise InvalidValueError."""

        def listed(name: str) -> frozenset[str]:
            return frozenset(_string_list(data.get(name, []), name))

        return _parsing(
            "policy conditions",
            lambda: cls(
                priorities=frozenset(values.priority(p) for p in listed("priorities")),
                groups=listed("groups"),
                types=listed("types"),
                organisations=listed("organisations"),
                tags=listed("tags"),
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """What happens when a target is breached: raise the priority, reassign, notify supervisors.

    `notify` names the supervisors to @mention in an internal note.
    """

    raise_priority_to: Priority | None = None
    reassign_group: str | None = None
    notify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.raise_priority_to is not None:
            object.__setattr__(self, "raise_priority_to", values.priority(self.raise_priority_to))
        if self.reassign_group is not None:
            identifier(self.reassign_group, "escalation group")
        _ensure_collection(self.notify, "supervisors to notify")
        notify = tuple(identifier(actor, "supervisor to notify") for actor in self.notify)
        if len(set(notify)) != len(notify):
            msg = f"supervisors to notify must not repeat (got {list(notify)})"
            raise InvalidValueError(msg)
        object.__setattr__(self, "notify", notify)
        if self.raise_priority_to is None and self.reassign_group is None and not notify:
            msg = "an escalation must raise the priority, reassign to a group, or notify someone"
            raise InvalidValueError(msg)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        priority = None if self.raise_priority_to is None else self.raise_priority_to.value
        return {"raise_priority_to": priority, "reassign_group": self.reassign_group, "notify": list(self.notify)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Escalation:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return _parsing(
            "escalation",
            lambda: cls(
                raise_priority_to=data.get("raise_priority_to"),
                reassign_group=data.get("reassign_group"),
                notify=tuple(_string_list(data.get("notify", []), "notify")),
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyTerms:
    """An SLA policy: which tickets it covers, its targets in minutes, and how its clock pauses.

    `calendar_id` names the business calendar the minutes count in (None: calendar time). A
    target may be absent: the policy then does not track it.
    """

    name: str
    targets: Mapping[SlaTarget, int] = field(hash=False)
    conditions: PolicyConditions = field(default_factory=PolicyConditions)
    calendar_id: str | None = None
    pause_statuses: frozenset[Status] = DEFAULT_PAUSE_STATUSES
    warning_minutes: int = 15
    escalation: Escalation | None = None

    def __post_init__(self) -> None:
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > NAME_MAX:
            msg = f"a policy name must be 1-{NAME_MAX} characters, not blank (got {self.name!r})"
            raise InvalidValueError(msg)
        object.__setattr__(self, "name", name)
        if self.calendar_id is not None:
            identifier(self.calendar_id, "calendar id")
        object.__setattr__(self, "targets", _targets(self.targets))
        object.__setattr__(self, "pause_statuses", _pause_statuses(self.pause_statuses))
        _minutes(self.warning_minutes, "warning_minutes", minimum=0)

    def check_new_definition(self) -> PolicyTerms:
        """The terms themselves, if a policy may set them from now on (TARGET_MINUTES_MAX); else raise.

        Stored terms up to MINUTES_MAX still load: the limit applies to definitions, not to replays.
        """
        for target, minutes in self.targets.items():
            if minutes > TARGET_MINUTES_MAX:
                msg = f"targets.{target.value}: a target may be at most {TARGET_MINUTES_MAX} minutes (got {minutes})"
                raise InvalidValueError(msg)
        if self.warning_minutes > TARGET_MINUTES_MAX:
            msg = f"warning_minutes: at most {TARGET_MINUTES_MAX} minutes (got {self.warning_minutes})"
            raise InvalidValueError(msg)
        return self

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        return {
            "name": self.name,
            "conditions": self.conditions.as_dict(),
            "calendar_id": self.calendar_id,
            "targets": {target.value: minutes for target, minutes in self.targets.items()},
            "pause_statuses": sorted(s.value for s in self.pause_statuses),
            "warning_minutes": self.warning_minutes,
            "escalation": None if self.escalation is None else self.escalation.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyTerms:
        """Rebuild from `as_dict` values (missing optional entries take their defaults), or raise."""

        def build() -> PolicyTerms:
            escalation = data.get("escalation")
            targets = data["targets"]
            if not isinstance(targets, Mapping):
                msg = f"targets must be an object of target -> minutes (got {targets!r})"
                raise InvalidValueError(msg)
            return cls(
                name=data["name"],
                conditions=PolicyConditions.from_dict(data.get("conditions", {})),
                calendar_id=data.get("calendar_id"),
                targets=targets,
                pause_statuses=_pause_statuses(_string_list(data.get("pause_statuses", ["pending"]), "pause_statuses")),
                warning_minutes=data.get("warning_minutes", 15),
                escalation=None if escalation is None else Escalation.from_dict(escalation),
            )

        return _parsing("policy terms", build)


def select_policy(policies: Sequence[tuple[K, PolicyTerms]], facts: TicketFacts) -> tuple[K, PolicyTerms] | None:
    """The first (key, terms) pair whose conditions match the facts, or None: order decides."""
    return next(((key, terms) for key, terms in policies if terms.conditions.matches(facts)), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedPolicy:
    """A policy version in force for a ticket, with the calendar its `calendar_id` names.

    For a policy without a calendar, pass `CALENDAR_TIME` (or any 24x7 calendar).
    """

    policy_id: str
    version: int
    terms: PolicyTerms
    calendar: Calendar

    def __post_init__(self) -> None:
        identifier(self.policy_id, "policy id")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            msg = f"a policy version must be a whole number from 1 (got {self.version!r})"
            raise InvalidValueError(msg)

    def same_as(self, other: AppliedPolicy | None) -> bool:
        """Whether `other` is the same policy version with the same terms."""
        return other is not None and (self.policy_id, self.version, self.terms) == (
            other.policy_id,
            other.version,
            other.terms,
        )


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
            "due_at": _iso(self.due_at),
            "warn_at": _iso(self.warn_at),
            "elapsed_minutes": self.elapsed_minutes,
            "remaining_minutes": self.remaining_minutes,
            "fulfilled_at": _iso(self.fulfilled_at),
            "breached_at": _iso(self.breached_at),
            "pauses": self.pauses,
            "ended_at": _iso(self.ended_at),
            "no_due_reason": self.no_due_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetStatus:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return _parsing(
            "target status",
            lambda: cls(
                target=SlaTarget(data["target"]),
                policy_id=str(data["policy_id"]),
                policy_version=int(data["policy_version"]),
                target_minutes=int(data["target_minutes"]),
                state=TargetState(data["state"]),
                cycle=int(data["cycle"]),
                started_at=_moment(data["started_at"]),
                due_at=_optional_moment(data["due_at"]),
                warn_at=_optional_moment(data["warn_at"]),
                elapsed_minutes=float(data["elapsed_minutes"]),
                remaining_minutes=float(data["remaining_minutes"]),
                fulfilled_at=_optional_moment(data["fulfilled_at"]),
                breached_at=_optional_moment(data["breached_at"]),
                pauses=int(data["pauses"]),
                ended_at=_optional_moment(data["ended_at"]),
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
            "running_since": _iso(self.running_since),
            "fulfilled_at": _iso(self.fulfilled_at),
            "breached_at": _iso(self.breached_at),
            "pauses": self.pauses,
            "judged": None
            if judged is None
            else {"policy_id": judged.policy_id, "version": judged.version, "target_minutes": judged.target_minutes},
            "due_at_fulfilment": _iso(self.due_at_fulfilment),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _Track:
        judged = data["judged"]
        return cls(
            cycle=int(data["cycle"]),
            started_at=_moment(data["started_at"]),
            measured=float(data["measured"]),
            unmeasured=[(_moment(start), _moment(end)) for start, end in data["unmeasured"]],
            running_since=_optional_moment(data["running_since"]),
            fulfilled_at=_optional_moment(data["fulfilled_at"]),
            breached_at=_optional_moment(data["breached_at"]),
            pauses=int(data["pauses"]),
            judged=None
            if judged is None
            else _Judgement(str(judged["policy_id"]), int(judged["version"]), int(judged["target_minutes"])),
            due_at_fulfilment=_optional_moment(data["due_at_fulfilment"]),
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
            "opened_at": _iso(self._opened_at),
            "last_at": _iso(self._last_at),
            "closed_at": _iso(self._closed_at),
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
        return _parsing("stored SLA clock", lambda: cls._restore(data, calendars))

    @classmethod
    def _restore(cls, data: Mapping[str, Any], calendars: CalendarLookup | None) -> SlaClock:
        clock = cls()
        ticket_id = data["ticket_id"]
        clock._ticket_id = None if ticket_id is None else str(ticket_id)
        clock._opened_at = _optional_moment(data["opened_at"])
        clock._last_at = _optional_moment(data["last_at"])
        clock._closed_at = _optional_moment(data["closed_at"])
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


def _parsing(what: str, build: Callable[[], T]) -> T:
    """Run `build`, turning a malformed input into one InvalidValueError that says what was read."""
    try:
        return build()
    except InvalidValueError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        msg = f"{what} is malformed: {type(error).__name__}: {error}"
        raise InvalidValueError(msg) from None


def _ensure_collection(items: object, what: str) -> None:
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        msg = f"{what} must be a collection of values, not {items!r}"
        raise InvalidValueError(msg)


def _string_list(items: object, what: str) -> list[str]:
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        msg = f"{what} must be a list of strings (got {items!r})"
        raise InvalidValueError(msg)
    return list(items)


def _identifiers(items: Iterable[str], what: str) -> frozenset[str]:
    _ensure_collection(items, f"{what}s")
    return frozenset(identifier(item, what) for item in items)


def _slugs(items: Iterable[str], what: str) -> frozenset[str]:
    _ensure_collection(items, f"{what}s")
    return frozenset(values.slug(item, what) for item in items)


def _allows(allowed: frozenset[Any], value: object) -> bool:
    return not allowed or value in allowed


def _minutes(value: object, what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MINUTES_MAX:
        msg = f"{what} must be a whole number of minutes from {minimum} to {MINUTES_MAX} (got {value!r})"
        raise InvalidValueError(msg)
    return value


def _targets(targets: Mapping[Any, Any]) -> Mapping[SlaTarget, int]:
    if not isinstance(targets, Mapping) or not targets:
        msg = f"a policy needs at least one target: a mapping of target -> minutes (got {targets!r})"
        raise InvalidValueError(msg)
    checked = {values.choice(SlaTarget, key, "SLA target"): value for key, value in targets.items()}
    ordered = {t: _minutes(checked[t], f"the {t.value} target", minimum=1) for t in SlaTarget if t in checked}
    return MappingProxyType(ordered)


def _pause_statuses(statuses: Iterable[str]) -> frozenset[Status]:
    _ensure_collection(statuses, "pause statuses")
    parsed = frozenset(values.choice(Status, s, "pause status") for s in statuses)
    if not parsed <= PAUSABLE_STATUSES:
        allowed = ", ".join(sorted(PAUSABLE_STATUSES))
        got = ", ".join(sorted(parsed - PAUSABLE_STATUSES))
        msg = f"an SLA clock can pause only in {allowed} (got {got})"
        raise InvalidValueError(msg)
    return parsed


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: object) -> datetime:
    if not isinstance(text, str):
        msg = f"a moment must be an ISO-8601 string (got {text!r})"
        raise InvalidValueError(msg)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        msg = f"a stored moment must carry its UTC offset (got {text!r})"
        raise InvalidValueError(msg)
    return moment.astimezone(UTC)


def _optional_moment(text: object) -> datetime | None:
    return None if text is None else _moment(text)
