"""How each endpoint has been answering: its failed attempts in a row, which disable it past a limit."""

from __future__ import annotations

from infrastructure.webhooks.sql import Sql


class EndpointHealth:
    """Consecutive failed attempts per endpoint (any success sets it back to 0)."""

    def __init__(self, sql: Sql, name: str = "ledgerdesk_webhook_health") -> None:
        self._sql = sql
        self._table = sql.table(name)

    def create_table(self) -> None:
        """Create the table (a schema step)."""
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (endpoint_id TEXT PRIMARY KEY, failures INTEGER NOT NULL)"
            )

    def failed(self, endpoint_id: str) -> int:
        """Count one more failed attempt; the failures in a row now."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} AS h (endpoint_id, failures) VALUES ({p}, 1) ON CONFLICT (endpoint_id) "
                "DO UPDATE SET failures = h.failures + 1 RETURNING failures",
                (endpoint_id,),
            )
            row = cursor.fetchone()
        return int(row["failures"])

    def reset(self, endpoint_id: str) -> None:
        """A success (or an admin enabling it again): no failures in a row."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE endpoint_id = {self._sql.p}", (endpoint_id,))

    def failures(self, endpoint_id: str) -> int:
        """The failed attempts in a row now."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"SELECT failures FROM {self._table} WHERE endpoint_id = {self._sql.p}", (endpoint_id,))
            row = cursor.fetchone()
        return 0 if row is None else int(row["failures"])
