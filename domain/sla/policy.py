"""SLA policies: which tickets a policy applies to, its targets, pauses and escalation.

A policy (`PolicyTerms`) applies to the tickets its conditions match; in an ordered list the first
match wins (`select_policy`). It sets targets in minutes, counted in the business time of one
calendar (`calendar_id`; None means calendar time, every minute of every day). What each target
means, when it starts, pauses and stops, is in docs/sla.md; the clock that counts them is
`domain/sla/clock.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.sla.calendar import BeyondHorizonError
from domain.tickets.workflow import Status
from domain.values import Priority

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
        return parse_with(
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

        return parse_with(
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
        return parse_with(
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

        return parse_with("policy terms", build)


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


# --- parsing helpers ------------------------------------------------------------------------------


def parse_with(what: str, build: Callable[[], T]) -> T:
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


def iso_text(moment: datetime | None) -> str | None:
    """A stored moment as ISO-8601 text (None stays None)."""
    return None if moment is None else moment.isoformat()


def parse_moment(text: object) -> datetime:
    """A stored ISO-8601 moment, in UTC; one without its offset is refused."""
    if not isinstance(text, str):
        msg = f"a moment must be an ISO-8601 string (got {text!r})"
        raise InvalidValueError(msg)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        msg = f"a stored moment must carry its UTC offset (got {text!r})"
        raise InvalidValueError(msg)
    return moment.astimezone(UTC)


def parse_optional_moment(text: object) -> datetime | None:
    """`parse_moment`, or None for None."""
    return None if text is None else parse_moment(text)
