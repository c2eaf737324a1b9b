"""Model versions: a table beside the events, one row per tenant and version, the model itself in the row.

Each version records when it was trained, the window of tickets it learned from (their opening
moments), how many, and each field's holdout report. The fitted model is kept as a pickle in the
row with its SHA-256; it is loaded only from this table, and only if the bytes still hash to the
digest written with them, so what is loaded is what this desk wrote (docs/suggestions.md says why
pickle: scikit-learn's own persistence, and why that is safe here).
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infrastructure.suggestions.model import TenantModel
from infrastructure.webhooks.sql import Sql

TABLE = "ledgerdesk_suggestion_models"


class TamperedModelError(RuntimeError):
    """A stored model's bytes no longer hash to the digest written with them: it is not loaded."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """What is on record of one trained model (not the model itself)."""

    tenant: str
    version: int
    trained_at: datetime
    window_start: datetime
    window_end: datetime
    size: int  # the solved tickets it learned from
    reports: dict[str, dict[str, Any]]  # field -> classification_report of the holdout
    seconds: float  # how long training took
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        """The version in plain values (the API's and the CLI's)."""
        return {
            "tenant": self.tenant,
            "version": self.version,
            "trained_at": self.trained_at.isoformat(),
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "size": self.size,
            "seconds": round(self.seconds, 3),
            "fields": self.reports,
        }


class ModelStore:
    """Reads and writes model versions."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql
        self._table = sql.table(TABLE)

    def create_table(self) -> None:
        """Create the table (a schema step)."""
        blob = "BYTEA" if self._sql.is_postgres else "BLOB"
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (tenant TEXT NOT NULL, version INTEGER NOT NULL, "
                "trained_at TEXT NOT NULL, window_start TEXT NOT NULL, window_end TEXT NOT NULL, "
                "size INTEGER NOT NULL, seconds DOUBLE PRECISION NOT NULL, reports TEXT NOT NULL, "
                f"sha256 TEXT NOT NULL, model {blob} NOT NULL, PRIMARY KEY (tenant, version))"
            )

    def add(
        self,
        tenant: str,
        model: TenantModel,
        *,
        trained_at: datetime,
        window: tuple[datetime, datetime],
        size: int,
        seconds: float,
    ) -> ModelVersion:
        """Store a newly trained model as the tenant's next version."""
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.sha256(data).hexdigest()
        reports = model.reports()
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(version), 0) AS v FROM {self._table} WHERE tenant = {p}", (tenant,))
            version = int(cursor.fetchone()["v"]) + 1
            cursor.execute(
                f"INSERT INTO {self._table} (tenant, version, trained_at, window_start, window_end, size, seconds, "
                f"reports, sha256, model) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                (
                    tenant,
                    version,
                    trained_at.isoformat(),
                    window[0].isoformat(),
                    window[1].isoformat(),
                    size,
                    seconds,
                    json.dumps(reports),
                    digest,
                    data,
                ),
            )
        return ModelVersion(tenant, version, trained_at, window[0], window[1], size, reports, seconds, digest)

    def versions(self, tenant: str, *, limit: int = 1000) -> list[ModelVersion]:
        """The versions of the tenant's model, newest first (at most `limit`)."""
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT tenant, version, trained_at, window_start, window_end, size, seconds, reports, sha256 "
                f"FROM {self._table} WHERE tenant = {self._sql.p} ORDER BY version DESC LIMIT {int(limit)}",
                (tenant,),
            )
            return [_version(row) for row in cursor.fetchall()]

    def latest(self, tenant: str) -> ModelVersion | None:
        """The tenant's newest version, or None (asked at every prediction: one row)."""
        found = self.versions(tenant, limit=1)
        return found[0] if found else None

    def load(self, tenant: str, version: int) -> TenantModel:
        """The fitted model of a version, after checking its bytes against their digest."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT sha256, model FROM {self._table} WHERE tenant = {p} AND version = {p}", (tenant, version)
            )
            row = cursor.fetchone()
        if row is None:
            msg = f"no model version {version} of tenant {tenant}"
            raise LookupError(msg)
        data = bytes(row["model"])
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            msg = f"model version {version} of tenant {tenant} does not match its digest; not loaded"
            raise TamperedModelError(msg)
        model: TenantModel = pickle.loads(data)  # noqa: S301 -- this desk's own bytes, checked against their digest
        return model


def _version(row: Any) -> ModelVersion:
    return ModelVersion(
        tenant=row["tenant"],
        version=int(row["version"]),
        trained_at=datetime.fromisoformat(row["trained_at"]),
        window_start=datetime.fromisoformat(row["window_start"]),
        window_end=datetime.fromisoformat(row["window_end"]),
        size=int(row["size"]),
        reports=json.loads(row["reports"]),
        seconds=float(row["seconds"]),
        sha256=row["sha256"],
    )
