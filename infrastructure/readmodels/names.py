"""The names of one read-model generation's tables, on SQLite and on PostgreSQL.

Every slice of the read models (tickets, metrics, SLA, audit activity) names its tables through
`TableNames`, so a rebuild can build a new generation beside the one serving.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableNames:
    """The (quoted, schema-qualified where needed) names of one generation's tables."""

    prefix: str  # unquoted, for index names
    qualifier: str  # '"schema".' on PostgreSQL, '' on SQLite

    def table(self, name: str) -> str:
        """The full name of one of this generation's tables."""
        return f'{self.qualifier}"{self.prefix}{name}"'

    def index(self, name: str) -> str:
        """An index name, unique within the schema."""
        return f'"{self.prefix}{name}"'

    @property
    def tickets(self) -> str:
        """One row per ticket."""
        return self.table("tickets")

    @property
    def tags(self) -> str:
        """One row per (ticket, tag)."""
        return self.table("ticket_tags")

    @property
    def solved(self) -> str:
        """Tickets solved per agent per day."""
        return self.table("agent_solved_daily")

    @property
    def saved_views(self) -> str:
        """Named ticket-list filters."""
        return self.table("saved_views")

    @property
    def sla_policies(self) -> str:
        """The latest version of each SLA policy, and its place in the ordered list."""
        return self.table("sla_policies")

    @property
    def sla_calendars(self) -> str:
        """The latest version of each business calendar."""
        return self.table("sla_calendars")

    @property
    def sla_clocks(self) -> str:
        """Each tracked ticket's SLA clock (plain JSON) and the alerts on record."""
        return self.table("sla_clocks")

    @property
    def sla_targets(self) -> str:
        """One row per tracked ticket and target: state, due moment, elapsed and remaining minutes."""
        return self.table("sla_targets")

    @property
    def people(self) -> str:
        """Which tickets hold personal data of which person (requester, comment authors): what erasure visits."""
        return self.table("ticket_people")

    @property
    def activity(self) -> str:
        """Changes per tenant, day, actor, organisation and event type (audit reports)."""
        return self.table("audit_activity")


def postgres_names(schema: str, generation: int) -> TableNames:
    """Table names of a PostgreSQL generation."""
    return TableNames(prefix=f"rm{generation}_", qualifier=f'"{schema}".')


SQLITE_NAMES = TableNames(prefix="", qualifier="")
