"""The SLA status read model's rows: policies, calendars and each tracked ticket's clock and targets.

What the model means, and how events move it, is in fold.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from domain.sla.calendar import BusinessCalendar
from domain.sla.clock import SlaClock
from domain.sla.policy import PolicyTerms, TargetState
from domain.sla.target_status import TargetStatus

#: Calendars kept across batches: each keeps the holidays and irregular days it has walked, so later batches
#: that count in it do not walk them again.
CALENDARS_KEPT = 256

#: The SLA due moment of a ticket with no running target: sorts after every real one.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass
class PolicyRow:
    """One SLA policy as the model holds it: its latest version and place in the ordered list."""

    tenant: str
    name: str
    position: int
    version: int
    terms: dict[str, Any]
    _parsed: PolicyTerms | None = field(default=None, repr=False, compare=False)

    @property
    def policy_terms(self) -> PolicyTerms:
        """The terms, parsed once."""
        if self._parsed is None:
            self._parsed = PolicyTerms.from_dict(self.terms)
        return self._parsed


@dataclass
class CalendarRow:
    """One business calendar's latest version."""

    tenant: str
    name: str
    version: int
    definition: dict[str, Any]
    _built: BusinessCalendar | None = field(default=None, repr=False, compare=False)

    @property
    def calendar(self) -> BusinessCalendar:
        """The calendar, built once, and shared by every batch that reads the same definition."""
        if self._built is None:
            self._built = _calendar_of(json.dumps(self.definition, sort_keys=True))
        return self._built


@lru_cache(maxsize=CALENDARS_KEPT)
def _calendar_of(definition: str) -> BusinessCalendar:
    """The calendar a definition (as canonical JSON) describes; equal definitions share one calendar."""
    return BusinessCalendar.from_dict(json.loads(definition))


@dataclass
class ClockRow:
    """One tracked ticket's SLA clock, the alerts recorded on it, and the targets as of its last event."""

    ticket_id: UUID
    tenant: str
    clock: SlaClock
    alerts: list[str]  # "warning:<target>:<cycle>" / "breach:<target>:<cycle>", as on the ticket
    as_of: datetime
    version: int  # the ticket version the clock has folded

    def targets(self) -> list[TargetStatus]:
        """The targets the policy in force tracks, as of the last event."""
        return self.clock.status(self.as_of)

    def alerted(self, kind: str, status: TargetStatus) -> bool:
        """Whether a warning or breach of this target's cycle is on record."""
        return f"{kind}:{status.target.value}:{status.cycle}" in self.alerts


@dataclass
class SlaChanges:
    """What a batch of events changed in the SLA model."""

    policies: dict[tuple[str, str], PolicyRow] = field(default_factory=dict)
    calendars: dict[tuple[str, str], CalendarRow] = field(default_factory=dict)
    clocks: dict[UUID, ClockRow] = field(default_factory=dict)
    loaded_tenants: set[str] = field(default_factory=set)  # whose policies and calendars are in this batch
    untracked: set[UUID] = field(default_factory=set)  # tickets known to have no clock (not asked again)
    # Customer tiers by profile id (`CustomerProfile.create_id`): None for no profile or one without a tier.
    # Those a profile event of this batch set are also in `tiers_set` (profile id -> tenant), to be written.
    tiers: dict[UUID, str | None] = field(default_factory=dict)
    tiers_set: dict[UUID, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketDue:
    """What the ticket row carries for queues: earliest due and warning moments, first breach."""

    due_at: datetime = NO_DUE
    warn_at: datetime | None = None
    breached_at: datetime | None = None


def ticket_due(targets: list[TargetStatus]) -> TicketDue:
    """The queue fields of a ticket from its targets."""
    active = [t for t in targets if t.state is TargetState.ACTIVE and t.due_at is not None]
    warnings = [t.warn_at for t in active if t.warn_at is not None]
    breaches = [t.breached_at for t in targets if t.state is TargetState.BREACHED and t.breached_at is not None]
    return TicketDue(
        due_at=min((t.due_at for t in active if t.due_at is not None), default=NO_DUE),
        warn_at=min(warnings, default=None),
        breached_at=min(breaches, default=None),
    )
