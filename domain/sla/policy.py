"""SLA policies: which tickets a policy applies to, its targets, pauses and escalation.

A policy (`PolicyTerms`) applies to the tickets its conditions match; in an ordered list the first
match wins (`select_policy`). It sets targets in minutes, counted in the business time of one
calendar (`calendar_id`; None means calendar time, every minute of every day). What each target
means, when it starts, pauses and stops, is in docs/sla.md; the clock that counts them is
`domain/sla/clock.py`. Which tickets a policy covers is `domain/sla/conditions.py`, what it does on
a breach `domain/sla/escalation.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.sla.calendar import BeyondHorizonError
from domain.sla.conditions import PolicyConditions, TicketFacts
from domain.sla.escalation import Escalation
from domain.sla.stored_form import ensure_collection, parse_with, string_list
from domain.tickets.workflow import Status

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
    UPDATE = "update"  # from the customer's oldest unanswered message, before any reply too ("update time")
    RESOLUTION = "resolution"


class TargetState(StrEnum):
    """Where a target stands at a moment."""

    ACTIVE = "active"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


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
                pause_statuses=_pause_statuses(string_list(data.get("pause_statuses", ["pending"]), "pause_statuses")),
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
    ensure_collection(statuses, "pause statuses")
    parsed = frozenset(values.choice(Status, s, "pause status") for s in statuses)
    if not parsed <= PAUSABLE_STATUSES:
        allowed = ", ".join(sorted(PAUSABLE_STATUSES))
        got = ", ".join(sorted(parsed - PAUSABLE_STATUSES))
        msg = f"an SLA clock can pause only in {allowed} (got {got})"
        raise InvalidValueError(msg)
    return parsed
