"""SLA commands: calendars and policies defined, a policy applied to a ticket, warnings and breaches recorded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Unpack
from uuid import UUID

from domain import values
from domain.errors import (
    VersionMismatchError,
)
from domain.pipeline import Acting, CommandPipeline, ConfigReceipt, Receipt
from domain.provenance import event_cause
from domain.races import retried
from domain.sla.clock import SlaClock, recompute
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.sla.escalation import Escalation
from domain.sla.policy import CALENDAR_TIME, AppliedPolicy
from domain.sla.target_status import TargetStatus
from domain.tickets.sla_alerts import SlaAlert
from domain.tickets.ticket import Ticket


class SlaCommands(CommandPipeline):
    """The commands of service levels."""

    # --- SLA configuration -------------------------------------------------------------------------

    @retried
    def define_calendar(
        self, *, tenant: str, name: str, definition: Mapping[str, Any], **how: Unpack[Acting]
    ) -> ConfigReceipt:
        """Create a business calendar, or record a new version of it."""
        calendar = self._configured(WorkCalendar, WorkCalendar.create_id(tenant, name))
        with self._acting(tenant=tenant, **how):
            if calendar is None:
                calendar = WorkCalendar.define(tenant=tenant, name=name, definition=definition)
            else:
                calendar.change(definition)
        return self._commit_config(calendar)

    @retried
    def define_policy(
        self, *, tenant: str, name: str, position: int, terms: Mapping[str, Any], **how: Unpack[Acting]
    ) -> ConfigReceipt:
        """Create an SLA policy, or record a new version of it. Its calendar must exist."""
        calendar_name = terms.get("calendar_id")
        if calendar_name is not None:
            self.work_calendar(tenant, str(calendar_name))
        policy = self._configured(SlaPolicy, SlaPolicy.create_id(tenant, name))
        with self._acting(tenant=tenant, **how):
            if policy is None:
                policy = SlaPolicy.define(tenant=tenant, name=name, position=position, terms=terms)
            else:
                policy.change(position=position, terms=terms)
        return self._commit_config(policy)

    def work_calendar(self, tenant: str, name: str, version: int | None = None) -> WorkCalendar:
        """A calendar of the tenant (at `version`, else the latest)."""
        return self._named_config(WorkCalendar, "calendar", tenant, name, version)

    def sla_policy(self, tenant: str, name: str, version: int | None = None) -> SlaPolicy:
        """A policy of the tenant (at `version`, else the latest)."""
        return self._named_config(SlaPolicy, "SLA policy", tenant, name, version)

    def applied_policy(self, tenant: str, name: str, version: int | None = None) -> AppliedPolicy:
        """A policy version with its calendar (the calendar's latest version), ready to fold a ticket with."""
        policy = self.sla_policy(tenant, name, version)
        terms = policy.policy_terms
        calendar = (
            CALENDAR_TIME if terms.calendar_id is None else self.work_calendar(tenant, terms.calendar_id).calendar
        )
        return AppliedPolicy(policy_id=policy.name, version=policy.version, terms=terms, calendar=calendar)

    # --- SLA of one ticket ---------------------------------------------------------------------------

    def recompute_sla(
        self, ticket_id: UUID, *, tenant: str, policy: str, version: int | None = None, now: datetime | None = None
    ) -> list[TargetStatus]:
        """The ticket's SLA figures at `now` (default: now) had policy `policy` at `version` applied all along."""
        applied = self.applied_policy(tenant, policy, version)
        return recompute(self._events_of(ticket_id, tenant), applied, now or self.clock())

    @retried
    def apply_policy(
        self, ticket_id: UUID, *, tenant: str, policy: str, version: int | None = None, **how: Unpack[Acting]
    ) -> Receipt:
        """Put on record the ticket's SLA clocks recomputed from its whole history under a policy version."""
        applied = self.applied_policy(tenant, policy, version)
        ticket = self.get_ticket(ticket_id, tenant=tenant)
        clock = SlaClock.start()
        for event in self._events_of(ticket_id, tenant):
            clock.apply(event, applied)
        with self._acting(ticket=ticket, **how):
            ticket.recompute_sla(policy_id=applied.policy_id, policy_version=applied.version, clock=clock.as_dict())
        return self._commit(ticket)

    def raise_sla_alert(
        self,
        ticket_id: UUID,
        alert: SlaAlert,
        *,
        breach: bool,
        expected_version: int,
        escalation: Escalation | None = None,
        **how: Unpack[Acting],
    ) -> Receipt:
        """Record an SLA warning or breach once per target and cycle, and on a breach run the escalation.

        `expected_version` is the ticket version the caller judged the target at: if the ticket
        changed since, nothing is recorded (VersionMismatchError) and the caller judges again.
        """
        ticket = self.get_ticket(ticket_id)
        if ticket.version != expected_version:
            raise VersionMismatchError(expected_version, ticket.version)
        with self._acting(ticket=ticket, **how):
            recorded = ticket.record_sla_breach(alert) if breach else ticket.issue_sla_warning(alert)
        if breach and recorded and escalation is not None:
            # The escalation's events say the breach caused them.
            with self._acting(ticket=ticket, caused_by=event_cause(ticket.id, ticket.version), **how):
                _escalate(ticket, alert, escalation)
        return self._commit(ticket)


def _escalate(ticket: Ticket, alert: SlaAlert, escalation: Escalation) -> None:
    """The escalation a policy sets for a breach: each action an ordinary event on the ticket."""
    if escalation.raise_priority_to is not None:
        raised = values.priority(escalation.raise_priority_to)
        if raised.rank > ticket.priority.rank:
            ticket.change_priority(raised)
    if escalation.reassign_group is not None:
        ticket.assign(group=escalation.reassign_group)
    if escalation.notify:
        mentions = " ".join(f"@{who}" for who in escalation.notify)
        target = alert.target.replace("_", " ")
        note = f"{mentions} SLA breached: {target} (cycle {alert.cycle}) was due {alert.due_at.isoformat()}."
        ticket.add_comment(note, public=False)
