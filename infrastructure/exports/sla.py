"""The `sla` dataset: one row per ticket and SLA target, from the SLA status model (`sla_targets`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from infrastructure.exports.columns import UTC_TIME, column, paged_batches
from infrastructure.exports.scope import PAGE, ExportScope, Progress
from infrastructure.readmodels.store import ReadModels
from projections.sql import Reader

_TIMES = ("started_at", "due_at", "warn_at", "fulfilled_at", "breached_at", "ended_at")
_SELECTED = (
    "ticket_id",
    "target",
    "tenant",
    "policy_id",
    "policy_version",
    "target_minutes",
    "state",
    "cycle",
    *_TIMES,
    "elapsed_minutes",
    "remaining_minutes",
    "pauses",
    "group_id",
    "priority",
    "no_due_reason",
)

SCHEMA = pa.schema(
    [
        column("ticket_id", pa.string(), nullable=False, meaning="the ticket's id (UUID)"),
        column("target", pa.string(), nullable=False, meaning="first_response, next_response, resolution, ..."),
        column("tenant", pa.string(), nullable=False, meaning="the tenant the ticket belongs to"),
        column("policy", pa.string(), nullable=False, meaning="the SLA policy that set the target"),
        column("policy_version", pa.int32(), nullable=False, meaning="the version of that policy"),
        column("target_minutes", pa.int32(), nullable=False, meaning="the target, in business minutes"),
        column("state", pa.string(), nullable=False, meaning="active, paused, met or breached"),
        column("breached", pa.bool_(), nullable=False, meaning="whether the target was breached"),
        column("cycle", pa.int32(), nullable=False, meaning="which cycle of the target (a reopen starts another)"),
        column("started_at", UTC_TIME, nullable=False, meaning="when the target's clock started"),
        column("due_at", UTC_TIME, meaning="when it is (or was) due"),
        column("warn_at", UTC_TIME, meaning="when it warns of a coming breach"),
        column("fulfilled_at", UTC_TIME, meaning="when it was met"),
        column("breached_at", UTC_TIME, meaning="when it was breached"),
        column("ended_at", UTC_TIME, meaning="when it stopped counting (met, breached and ended, or cancelled)"),
        column("elapsed_minutes", pa.float64(), nullable=False, meaning="business minutes counted so far"),
        column("remaining_minutes", pa.float64(), nullable=False, meaning="business minutes left (negative: late)"),
        column("pauses", pa.int32(), nullable=False, meaning="how often its clock was paused"),
        column("group_id", pa.string(), meaning="the ticket's group when the row was written"),
        column("priority", pa.string(), nullable=False, meaning="the ticket's priority when the row was written"),
        column("no_due_reason", pa.string(), meaning="why a running target has no due moment"),
    ]
)


class TargetPages(Reader):
    """The SLA targets in (ticket id, target) order, a page after a key (keyset, never OFFSET)."""

    def page(self, scope: ExportScope, after: tuple[Any, str] | None, limit: int) -> list[Any]:
        """Up to `limit` stored rows in `scope` after the key `after` (a stored ticket id, a target)."""
        p = self.d.placeholder
        clauses, params = self._where(scope)
        if after is not None:
            clauses.append(f"(ticket_id > {p} OR (ticket_id = {p} AND target > {p}))")
            params.extend([after[0], after[0], after[1]])
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_SELECTED)} FROM {self.names.sla_targets}{where} ORDER BY ticket_id, target"
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(f"{sql} LIMIT {int(limit)}", params)
            return list(cursor.fetchall())

    def count(self, scope: ExportScope) -> int:
        """How many rows are in `scope`."""
        clauses, params = self._where(scope)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n FROM {self.names.sla_targets}{where}", params)
            return int(cursor.fetchone()["n"])

    def record(self, row: Any) -> dict[str, Any]:
        """A stored row as the dataset's row."""
        found = {name: row[name] for name in _SELECTED}
        found["ticket_id"] = str(self.d.to_uuid(row["ticket_id"]))
        found["policy"] = found.pop("policy_id")
        found["breached"] = row["breached_at"] is not None
        for name in _TIMES:
            found[name] = self.d.to_time(row[name])
        return found

    def _where(self, scope: ExportScope) -> tuple[list[str], list[Any]]:
        p, clauses, params = self.d.placeholder, list[str](), list[Any]()
        if scope.tenant is not None:
            clauses.append(f"tenant = {p}")
            params.append(scope.tenant)
        if scope.since is not None:
            clauses.append(f"started_at >= {p}")
            params.append(self.d.time(scope.since))
        return clauses, params


def batches(
    read_models: ReadModels, scope: ExportScope, progress: Progress | None = None, *, page: int = PAGE
) -> Iterator[pa.RecordBatch]:
    """The SLA targets in `scope` (by `started_at` for `since`) as record batches of SCHEMA, a page each."""
    view = read_models.active_view()
    pages = TargetPages(view.datastore, view.dialect, view.names)
    yield from paged_batches(
        pages, scope, SCHEMA, pages.record, (lambda r: (r["ticket_id"], r["target"])), progress, page
    )
