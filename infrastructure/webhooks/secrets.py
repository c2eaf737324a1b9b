"""Signing secrets of webhook endpoints, kept beside the events but never in them.

The log is immutable and read by auditors and exports, so a secret written there could never be
taken back; here a rotation gives the previous secret an end (`expires_at`) and a deletion
removes them all. Secrets are stored as given: signing needs them, unlike API keys, which are
only compared and so kept as hashes.
"""

from __future__ import annotations

from infrastructure.webhooks.sql import Sql


class WebhookSecrets:
    """The secrets each endpoint signs with: one current, and for a while after a rotation the previous one."""

    def __init__(self, sql: Sql, name: str = "ledgerdesk_webhook_secrets") -> None:
        self._sql = sql
        self._table = sql.table(name)

    def create_table(self) -> None:
        """Create the table (a schema step)."""
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (endpoint_id TEXT NOT NULL, secret TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION, PRIMARY KEY (endpoint_id, secret))"
            )

    def add(self, endpoint_id: str, secret: str, *, now: float) -> None:
        """Store an endpoint's first secret."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (endpoint_id, secret, created_at) VALUES ({p}, {p}, {p})",
                (endpoint_id, secret, now),
            )

    def rotate(self, endpoint_id: str, secret: str, *, now: float, previous_until: float) -> None:
        """Make `secret` the current one; those in use end at `previous_until` (sooner, if they were to end so)."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET expires_at = {p} WHERE endpoint_id = {p} "
                f"AND (expires_at IS NULL OR expires_at > {p})",
                (previous_until, endpoint_id, previous_until),
            )
            cursor.execute(
                f"DELETE FROM {self._table} WHERE endpoint_id = {p} AND expires_at <= {p}", (endpoint_id, now)
            )
            cursor.execute(
                f"INSERT INTO {self._table} (endpoint_id, secret, created_at) VALUES ({p}, {p}, {p})",
                (endpoint_id, secret, now),
            )

    def in_use(self, endpoint_id: str, *, now: float) -> list[str]:
        """The secrets a delivery is signed with now, newest first."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT secret FROM {self._table} WHERE endpoint_id = {p} "
                f"AND (expires_at IS NULL OR expires_at > {p}) ORDER BY created_at DESC",
                (endpoint_id, now),
            )
            return [str(row["secret"]) for row in cursor.fetchall()]

    def forget(self, endpoint_id: str) -> None:
        """Remove every secret of a deleted endpoint."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE endpoint_id = {self._sql.p}", (endpoint_id,))
