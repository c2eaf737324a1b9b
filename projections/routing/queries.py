"""Reads the router decides from: queues with tickets waiting, their tickets, the members' load and idleness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from projections.routing.rows import WaitingRow
from projections.sql import Reader
from projections.tickets.rows import UNSOLVED
from projections.tickets.tables import UNSOLVED_SQL

#: A ticket waiting in a queue, said as the partial index `waiting_tickets_by_group` says it (constants, so
#: both databases see that the index covers the query).
WAITING = f"status_category IN {UNSOLVED_SQL} AND assignee IS NULL AND group_id IS NOT NULL"


class RoutingQueries(Reader):
    """Reads of one generation for routing (`tickets` and the routing tables)."""

    def waiting_queues(self) -> list[tuple[str, str]]:
        """Every (tenant, group) with unsolved tickets waiting unassigned in its queue."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT DISTINCT tenant, group_id FROM {self.names.tickets} WHERE {WAITING} ORDER BY tenant, group_id"
            )
            return [(r["tenant"], r["group_id"]) for r in cursor.fetchall()]

    def waiting(self, tenant: str, group: str, limit: int) -> list[WaitingRow]:
        """The group's waiting tickets in the order they are routed: most urgent first, then oldest."""
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id, version, ticket_type, tags FROM {self.names.tickets} "
                f"WHERE tenant = {p} AND group_id = {p} AND {WAITING} "
                f"ORDER BY priority_rank DESC, created_at, ticket_id LIMIT {int(limit)}",
                [tenant, group],
            )
            return [
                WaitingRow(
                    self.d.to_uuid(r["ticket_id"]), r["version"], r["ticket_type"], frozenset(self.d.to_json(r["tags"]))
                )
                for r in cursor.fetchall()
            ]

    def open_tickets(self, tenant: str, agents: Sequence[str]) -> dict[str, int]:
        """How many unsolved tickets each of these agents has (absent: none)."""
        if not agents:
            return {}
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT assignee, COUNT(*) AS n FROM {self.names.tickets} WHERE tenant = {p} "
                f"AND assignee IN ({self.d.params(len(agents))}) "
                f"AND status_category IN ({self.d.params(len(UNSOLVED))}) GROUP BY assignee",
                [tenant, *agents, *UNSOLVED],
            )
            return {r["assignee"]: r["n"] for r in cursor.fetchall()}

    def last_assigned(self, tenant: str, agents: Sequence[str]) -> dict[str, datetime]:
        """When each of these agents was last given a ticket (absent: never)."""
        if not agents:
            return {}
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT agent, assigned_at FROM {self.names.last_assigned} WHERE tenant = {p} "
                f"AND agent IN ({self.d.params(len(agents))})",
                [tenant, *agents],
            )
            return {r["agent"]: self.d.to_time(r["assigned_at"]) for r in cursor.fetchall()}  # type: ignore[misc]

    def last_routed(self, tenant: str, group: str) -> str | None:
        """The agent the group's routing chose last (None: it has chosen nobody yet)."""
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT agent FROM {self.names.last_routed} WHERE tenant = {p} AND group_name = {p}",
                [tenant, group],
            )
            found = cursor.fetchone()
            return None if found is None else str(found["agent"])
