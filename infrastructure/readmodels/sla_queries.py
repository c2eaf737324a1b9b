"""Queries of the SLA read model: the tenant's policies and calendars, and a ticket's targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from infrastructure.readmodels.dialect import Dialect
from infrastructure.readmodels.names import TableNames
from projections.sla import CalendarRow, PolicyRow


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One stored target of a ticket, as of the ticket's last event."""

    target: str
    policy_id: str
    policy_version: int
    target_minutes: int
    state: str
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
    no_due_reason: str | None = None  # why a running target has no due moment (see domain.sla, "No due")


class SlaQueries:
    """Reads of one generation's SLA tables."""

    def __init__(self, datastore: Any, dialect: Dialect, names: TableNames) -> None:
        self.datastore = datastore
        self.d = dialect
        self.names = names

    def policies(self, tenant: str) -> list[PolicyRow]:
        """The tenant's policies in the order they are tried (position, then name)."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT name, position, version, terms FROM {self.names.sla_policies} "
                f"WHERE tenant = {self.d.placeholder} ORDER BY position, name",
                [tenant],
            )
            rows = cursor.fetchall()
        return [PolicyRow(tenant, r["name"], r["position"], r["version"], self.d.to_json(r["terms"])) for r in rows]

    def calendars(self, tenant: str) -> list[CalendarRow]:
        """The tenant's calendars by name."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT name, version, definition FROM {self.names.sla_calendars} "
                f"WHERE tenant = {self.d.placeholder} ORDER BY name",
                [tenant],
            )
            rows = cursor.fetchall()
        return [CalendarRow(tenant, r["name"], r["version"], self.d.to_json(r["definition"])) for r in rows]

    def targets(self, tenant: str, ticket_id: UUID) -> list[TargetRow]:
        """A ticket's targets (none if it is not tracked), first response first."""
        d, p = self.d, self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                "SELECT target, policy_id, policy_version, target_minutes, state, cycle, started_at, due_at, warn_at, "
                "elapsed_minutes, remaining_minutes, fulfilled_at, breached_at, pauses, ended_at, no_due_reason "
                f"FROM {self.names.sla_targets} WHERE tenant = {p} AND ticket_id = {p}",
                [tenant, d.uuid(ticket_id)],
            )
            rows = cursor.fetchall()
        order = {"first_response": 0, "next_response": 1, "resolution": 2}
        return sorted((self._target(r) for r in rows), key=lambda t: order.get(t.target, 3))

    def _target(self, r: Any) -> TargetRow:
        d = self.d
        started = d.to_time(r["started_at"])
        assert started is not None  # NOT NULL
        return TargetRow(
            target=r["target"],
            policy_id=r["policy_id"],
            policy_version=r["policy_version"],
            target_minutes=r["target_minutes"],
            state=r["state"],
            cycle=r["cycle"],
            started_at=started,
            due_at=d.to_time(r["due_at"]),
            warn_at=d.to_time(r["warn_at"]),
            elapsed_minutes=r["elapsed_minutes"],
            remaining_minutes=r["remaining_minutes"],
            fulfilled_at=d.to_time(r["fulfilled_at"]),
            breached_at=d.to_time(r["breached_at"]),
            pauses=r["pauses"],
            ended_at=d.to_time(r["ended_at"]),
            no_due_reason=r["no_due_reason"],
        )
