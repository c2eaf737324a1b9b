"""Reads of an agent's workload: unsolved tickets by status (from `tickets`) and solves per day."""

from __future__ import annotations

from datetime import date

from projections.sql import Reader
from projections.tickets.rows import UNSOLVED
from projections.workload.rows import Workload


class WorkloadQueries(Reader):
    """Reads of one generation's workload."""

    def workload(self, tenant: str, agent: str, *, since: date) -> Workload:
        """Counts of an agent's unsolved tickets by status, and tickets solved per day since `since`."""
        p = self.d.placeholder
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT status_category, COUNT(*) AS n FROM {self.names.tickets} WHERE tenant = {p} "
                f"AND assignee = {p} AND status_category IN ({self.d.params(len(UNSOLVED))}) GROUP BY status_category",
                [tenant, agent, *UNSOLVED],
            )
            by_status = {r["status_category"]: r["n"] for r in cursor.fetchall()}
            cursor.execute(
                f"SELECT day, solved FROM {self.names.solved} WHERE tenant = {p} AND agent = {p} AND day >= {p} "
                "ORDER BY day",
                [tenant, agent, self.d.day(since)],
            )
            solved = [(self.d.to_day(r["day"]), r["solved"]) for r in cursor.fetchall()]
        counts = {status: by_status.get(status, 0) for status in UNSOLVED}
        return Workload(agent=agent, by_status=counts, solved_per_day=solved)
