"""The SLA status read model: what it holds per ticket, and how ticket and configuration events fold into it.

For every tracked ticket the model keeps the SLA clock (`domain.sla.SlaClock`, as plain
values) and one row per target with its state, due moment, elapsed and remaining minutes; the
ticket row carries the earliest due and warning moments and the first breach, so queues can be
sorted by SLA due and filtered to at-risk or breached tickets.

Which policy applies is decided as events arrive, from the tenant's policies as the log stands
at that event (policies and calendars are events in the same log), so a rebuild gives the same
answer. A ticket is tracked from its opening if its tenant had a policy then; tickets opened
earlier are tracked once a policy is applied to them on request (`Ticket.SlaRecomputed`).
A policy may name customer tiers: the tier is the requester's (their customer profile's) as the
log stands at the ticket's event, kept in `sla_customer_tiers` from the profile events, and
looked up only for tenants with such a policy. A tier changed later counts from the ticket's next
event, as a changed policy does.
States that change with time alone (active → breached) are judged when read, from `due_at`.
A running target whose due lies beyond its calendar's horizon is stored with `due_at` None and
`no_due_reason` (see `domain.sla`, "No due"): the clock never raises for it, so one tenant's
configuration cannot stop the projection for anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import singledispatch
from typing import Any
from uuid import UUID

from domain.customers.profile import CustomerProfile
from domain.sla.clock import SlaClock
from domain.sla.conditions import TicketFacts
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.sla.policy import CALENDAR_TIME, AppliedPolicy, Calendar, select_policy
from domain.tickets.ticket import Ticket
from projections.batch import Folding
from projections.sla.rows import CalendarRow, ClockRow, PolicyRow, SlaChanges, ticket_due


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds mean nothing to the SLA model."""


@fold.register(Ticket.Event)
def _ticket_event(event: Ticket.Event, f: Folding) -> None:
    # Move the ticket's SLA clock, and carry its earliest due, warning and breach onto the ticket row.
    row = f.ticket(event.originator_id)
    folder(f).ticket_event(event, row.tenant)
    clock = f.batch.sla.clocks.get(event.originator_id)
    if clock is not None:
        due = ticket_due(clock.targets())
        row.sla_due_at, row.sla_warn_at, row.sla_breached_at = due.due_at, due.warn_at, due.breached_at


@fold.register(SlaPolicy.PolicyDefined)
@fold.register(SlaPolicy.PolicyChanged)
def _policy_changed(event: SlaPolicy.PolicyDefined | SlaPolicy.PolicyChanged, f: Folding) -> None:
    folder(f).policy_changed(event)


@fold.register(WorkCalendar.CalendarDefined)
@fold.register(WorkCalendar.CalendarChanged)
def _calendar_changed(event: WorkCalendar.CalendarDefined | WorkCalendar.CalendarChanged, f: Folding) -> None:
    folder(f).calendar_changed(event)


@fold.register(CustomerProfile.ProfileCreated)
@fold.register(CustomerProfile.ProfileSet)
@fold.register(CustomerProfile.ProfileRemoved)
def _profile_changed(event: CustomerProfile.Event, f: Folding) -> None:
    folder(f).profile_changed(event)


def folder(f: Folding) -> SlaFolder:
    """What folds events into this batch's SLA changes, loading stored ones through the view."""
    return SlaFolder(f.batch.sla, f.view.load_sla_config, f.view.load_sla_clocks, f.view.load_sla_tiers)


class SlaFolder:
    """Folds events into an `SlaChanges`, loading what it needs through the view's loaders."""

    def __init__(
        self,
        changes: SlaChanges,
        load_config: Callable[[SlaChanges, str], None],
        load_clocks: Callable[[SlaChanges, set[UUID], Callable[[str], Calendar]], None],
        load_tiers: Callable[[SlaChanges, set[UUID]], None],
    ) -> None:
        self.changes = changes
        self._load_config = load_config
        self._load_clocks = load_clocks
        self._load_tiers = load_tiers

    # --- configuration events ------------------------------------------------------------------

    def policy_changed(self, event: SlaPolicy.PolicyDefined | SlaPolicy.PolicyChanged) -> None:
        """Keep a policy's latest version (tickets pick it up at their next event)."""
        self._config_of(event.tenant)
        self.changes.policies[(event.tenant, event.name)] = PolicyRow(
            event.tenant, event.name, event.position, event.originator_version, dict(event.terms)
        )

    def calendar_changed(self, event: WorkCalendar.CalendarDefined | WorkCalendar.CalendarChanged) -> None:
        """Keep a calendar's latest version."""
        self._config_of(event.tenant)
        self.changes.calendars[(event.tenant, event.name)] = CalendarRow(
            event.tenant, event.name, event.originator_version, dict(event.definition)
        )

    def profile_changed(self, event: CustomerProfile.Event) -> None:
        """Keep the customer's tier as their profile now says (tickets pick it up at their next event)."""
        profile: dict[str, Any] = {}  # removed: no tier
        if isinstance(event, CustomerProfile.ProfileCreated | CustomerProfile.ProfileSet):
            profile = event.profile
        self.changes.tiers[event.originator_id] = profile.get("tier")
        self.changes.tiers_set[event.originator_id] = event.tenant

    # --- ticket events ---------------------------------------------------------------------------

    def ticket_event(self, event: Ticket.Event, tenant: str) -> None:
        """Fold one ticket event into its clock (if the ticket is tracked, or starts being tracked)."""
        opened = isinstance(event, Ticket.Opened)
        row = None if opened else self._clock_of(event.originator_id, tenant)  # a new ticket has no clock yet
        if isinstance(event, Ticket.SlaRecomputed):
            clock = SlaClock.from_dict(event.clock, self.calendar_lookup(tenant))
            alerts = row.alerts if row else []
            row = ClockRow(event.originator_id, tenant, clock, alerts, event.timestamp, event.originator_version)
        elif row is None:
            if not opened or not self._policies_of(tenant):
                self.changes.untracked.add(event.originator_id)
                return  # not tracked: opened before the tenant had a policy, or it has none
            row = ClockRow(event.originator_id, tenant, SlaClock.start(), [], event.timestamp, 0)
            row.clock.apply(event, self._applied(tenant, row.clock.facts_after(event)))
        elif isinstance(event, Ticket.SlaWarningIssued | Ticket.SlaBreached):
            kind = "warning" if isinstance(event, Ticket.SlaWarningIssued) else "breach"
            row.alerts = [*row.alerts, f"{kind}:{event.target}:{event.cycle}"]
        else:
            row.clock.apply(event, self._applied(tenant, row.clock.facts_after(event)))
        row.as_of, row.version = max(row.as_of, event.timestamp), event.originator_version
        self.changes.clocks[event.originator_id] = row

    def prefetch_clocks(self, tickets: Mapping[UUID, str]) -> None:
        """Load the stored clocks of these tickets (id -> tenant), one query per tenant; the rest have none.

        A batch's existing tickets all need their clock (or to be known untracked) before their
        events are folded; asking ticket by ticket costs a query each.
        """
        wanted: dict[str, set[UUID]] = {}
        for ticket_id, tenant in tickets.items():
            if ticket_id not in self.changes.clocks and ticket_id not in self.changes.untracked:
                wanted.setdefault(tenant, set()).add(ticket_id)
        for tenant, ticket_ids in wanted.items():
            self._load_clocks(self.changes, ticket_ids, self.calendar_lookup(tenant))
            self.changes.untracked |= ticket_ids - self.changes.clocks.keys()

    def calendar_lookup(self, tenant: str) -> Callable[[str], Calendar]:
        """Finds a tenant's calendar by name, as the log stands now."""

        def lookup(name: str) -> Calendar:
            self._config_of(tenant)
            found = self.changes.calendars.get((tenant, name))
            return CALENDAR_TIME if found is None else found.calendar

        return lookup

    # --- helpers ----------------------------------------------------------------------------------

    def _applied(self, tenant: str, facts: TicketFacts | None) -> AppliedPolicy | None:
        if facts is None:
            return None
        policies = self._policies_of(tenant)
        if facts.requester is not None and any(p.policy_terms.conditions.customer_tiers for p in policies):
            facts = replace(facts, customer_tier=self._tier_of(tenant, facts.requester))
        chosen = select_policy([(row, row.policy_terms) for row in policies], facts)
        if chosen is None:
            return None
        row, terms = chosen
        calendar = CALENDAR_TIME if terms.calendar_id is None else self.calendar_lookup(tenant)(terms.calendar_id)
        return AppliedPolicy(policy_id=row.name, version=row.version, terms=terms, calendar=calendar)

    def _policies_of(self, tenant: str) -> list[PolicyRow]:
        self._config_of(tenant)
        rows = [p for (t, _), p in self.changes.policies.items() if t == tenant]
        return sorted(rows, key=lambda p: (p.position, p.name))

    def _config_of(self, tenant: str) -> None:
        if tenant not in self.changes.loaded_tenants:
            self._load_config(self.changes, tenant)
            self.changes.loaded_tenants.add(tenant)

    def _tier_of(self, tenant: str, customer_id: str) -> str | None:
        profile_id = CustomerProfile.create_id(tenant, customer_id)
        if profile_id not in self.changes.tiers:
            self._load_tiers(self.changes, {profile_id})
        return self.changes.tiers.setdefault(profile_id, None)  # no row: no profile yet

    def _clock_of(self, ticket_id: UUID, tenant: str) -> ClockRow | None:
        # Most tickets of a tenant without policies have no clock: ask the store once per batch, not per event.
        self.prefetch_clocks({ticket_id: tenant})
        return self.changes.clocks.get(ticket_id)
