"""Reads of the SLA status model: the tenant's policies and calendars, a ticket's targets, alerts fallen due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.sla.policy import SlaTarget, TargetState
from domain.sla.target_status import TargetStatus
from projections.sla.rows import CalendarRow, PolicyRow
from projections.sql import Dialect, Reader


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An SLA warning or breach that has fallen due and is not on record, as the SLA read model judged it.

    `due_at` is the due moment (the breach moment for a breached target paused since, which has
    none); `ticket_version` the ticket version the row reflects; `fulfilled` whether the target
    has been fulfilled (late, for a breach).
    """

    ticket_id: UUID
    tenant: str
    target: str
    cycle: int
    due_at: datetime
    policy_id: str
    policy_version: int
    ticket_version: int
    breach: bool
    fulfilled: bool


class SlaQueries(Reader):
    """Reads of one generation's SLA tables."""

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

    def targets(self, tenant: str, ticket_id: UUID) -> list[TargetStatus]:
        """A ticket's targets as of its last event (none if it is not tracked), first response first."""
        d, p = self.d, self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                "SELECT target, policy_id, policy_version, target_minutes, state, cycle, started_at, due_at, warn_at, "
                "elapsed_minutes, remaining_minutes, fulfilled_at, breached_at, pauses, ended_at, no_due_reason "
                f"FROM {self.names.sla_targets} WHERE tenant = {p} AND ticket_id = {p}",
                [tenant, d.uuid(ticket_id)],
            )
            rows = cursor.fetchall()
        order = {target.value: n for n, target in enumerate(SlaTarget)}
        return sorted((self._target(r) for r in rows), key=lambda t: order[t.target.value])

    def _target(self, r: Any) -> TargetStatus:
        d = self.d
        started = d.to_time(r["started_at"])
        assert started is not None  # NOT NULL
        return TargetStatus(
            target=SlaTarget(r["target"]),
            policy_id=r["policy_id"],
            policy_version=r["policy_version"],
            target_minutes=r["target_minutes"],
            state=TargetState(r["state"]),
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

    def due_alerts(self, now: datetime, limit: int, *, after: tuple[UUID, str] | None = None) -> list[DueAlert]:
        """Up to `limit` SLA warnings and breaches due at `now` and not on record, in (ticket, target) order.

        A warning is due for an active target once `now` reaches its `warn_at`, but only before
        its due moment: a target past due is due for the breach alone. A breach is due for a
        target breached as of the ticket's last event, or active with `due_at` reached. Targets
        of closed tickets are never due (a closed ticket takes no alerts), nor those of a parked
        ticket: its later events are not applied, so its targets may be met or paused already.
        `after` continues after the given (ticket id, target).
        """
        d, p = self.d, self.d.placeholder
        moment = d.time(now)
        parked = self.names.table("parked")
        clauses = [
            "ended_at IS NULL",
            f"NOT EXISTS (SELECT 1 FROM {parked} k WHERE k.aggregate_id = {self.names.sla_targets}.ticket_id)",
            f"((breach_recorded = 0 AND (state = 'breached' OR (state = 'active' AND due_at <= {p}))) "
            f"OR (warned = 0 AND state = 'active' AND warn_at <= {p} AND due_at > {p}))",
        ]
        params: list[Any] = [moment, moment, moment]
        if after is not None:
            clauses.append(f"(ticket_id > {p} OR (ticket_id = {p} AND target > {p}))")
            params.extend([d.uuid(after[0]), d.uuid(after[0]), after[1]])
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                "SELECT ticket_id, tenant, target, cycle, state, due_at, breached_at, fulfilled_at, policy_id, "
                f"policy_version, ticket_version FROM {self.names.sla_targets} WHERE {' AND '.join(clauses)} "
                f"ORDER BY ticket_id, target LIMIT {int(limit)}",
                params,
            )
            rows = cursor.fetchall()
        return [_due_alert(d, r, now) for r in rows]


def _due_alert(d: Dialect, row: Any, now: datetime) -> DueAlert:
    due_at, breached_at = d.to_time(row["due_at"]), d.to_time(row["breached_at"])
    breach = row["state"] == "breached" or (due_at is not None and due_at <= now)
    moment = due_at or breached_at  # a paused breached target has no due moment, but its breach moment
    assert moment is not None  # an active target has its due moment, a breached one its breach moment
    return DueAlert(
        ticket_id=d.to_uuid(row["ticket_id"]),
        tenant=row["tenant"],
        target=row["target"],
        cycle=row["cycle"],
        due_at=moment,
        policy_id=row["policy_id"],
        policy_version=row["policy_version"],
        ticket_version=row["ticket_version"],
        breach=breach,
        fulfilled=row["fulfilled_at"] is not None,
    )
