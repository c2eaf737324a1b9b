"""Reads of `ticket_people`: which tickets an erasure must visit."""

from __future__ import annotations

from uuid import UUID

from projections.sql import Reader


class PeopleQueries(Reader):
    """Reads of one generation's `ticket_people`."""

    def tickets_of_person(self, tenant: str, person_id: str) -> list[UUID]:
        """The tickets holding personal data of a person: asked for by them, or commented on by them."""
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id FROM {self.names.people} WHERE tenant = {p} AND person_id = {p} ORDER BY ticket_id",
                [tenant, person_id],
            )
            return [self.d.to_uuid(r["ticket_id"]) for r in cursor.fetchall()]
