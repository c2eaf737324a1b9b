"""Reads of `saved_views`."""

from __future__ import annotations

from projections.saved_views.rows import SavedViewRow
from projections.sql import Reader


class SavedViewQueries(Reader):
    """Reads of one generation's saved views."""

    def saved_views(self, tenant: str) -> list[SavedViewRow]:
        """The tenant's saved views, by name."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT view_id, tenant, name, filters, created_by, created_at FROM {self.names.saved_views} "
                f"WHERE tenant = {self.d.placeholder} ORDER BY name",
                [tenant],
            )
            return [
                SavedViewRow(
                    view_id=self.d.to_uuid(r["view_id"]),
                    tenant=r["tenant"],
                    name=r["name"],
                    filters=self.d.to_json(r["filters"]),
                    created_by=r["created_by"],
                    created_at=self.d.to_time(r["created_at"]),  # type: ignore[arg-type]  # NOT NULL
                )
                for r in cursor.fetchall()
            ]
