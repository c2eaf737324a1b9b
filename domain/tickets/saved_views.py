"""Saved views: named ticket-list filters that agents store and share within their tenant.

Filters can name people (a requester's id, an assignee, words about someone in `q`), so they are
personal data: every value outside the closed vocabularies (`PLAIN_FILTERS`) is the saver's, and a
filter that names a person by id (`NAMING_FILTERS`) is that person's too. Erasing the saver erases
all such values of their views; erasing a named person erases the filters that name them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import FROM_CONTEXT, Recorded, no_cause
from domain.values import ERASED

_NAMESPACE = uuid.UUID("6a0f4c1e-5a4e-4d8e-9a57-1f0e2b3c4d5e")
FILTERS_MAX = 20
#: Filters whose values come from closed vocabularies and so name nobody.
PLAIN_FILTERS = frozenset({"status", "priority", "sla", "unassigned"})
#: Filters that name a person by id.
NAMING_FILTERS = frozenset({"requester_id", "assignee"})


def erased_filters(filters: Mapping[str, Any], *, saver: str, person_id: str) -> dict[str, Any]:
    """A view's filters once `person_id` was erased: all personal values if they saved it, else those naming them."""
    if saver == person_id:
        return {k: v if k in PLAIN_FILTERS else ERASED for k, v in filters.items()}
    return {k: ERASED if k in NAMING_FILTERS and v == person_id else v for k, v in filters.items()}


class SavedView(Recorded):
    """A named set of filters over the ticket list. Its id follows from tenant and name, so names are unique."""

    class Created(Recorded.Created):
        tenant: str
        name: str
        filters: dict[str, Any]
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Views saved before roles were recorded say nothing of the role."""
            state["actor_role"] = None

        upcast_v2_v3 = staticmethod(no_cause)

    @staticmethod
    def create_id(tenant: str, name: str) -> uuid.UUID:
        """The id of the view called `name` in `tenant`."""
        return uuid.uuid5(_NAMESPACE, f"{tenant}\x00{name}")

    @classmethod
    def create(cls, *, tenant: str, name: str, filters: Mapping[str, Any]) -> SavedView:
        """Validate and record a new saved view. `filters` were checked by the caller's query schema."""
        if len(filters) > FILTERS_MAX:
            msg = f"a saved view may hold at most {FILTERS_MAX} filters"
            raise InvalidValueError(msg)
        return cls(
            tenant=identifier(tenant, "tenant"),
            name=values.slug(name, "view name"),
            filters=values.storable_data(dict(filters), "filters"),
        )

    @event(Created)
    def __init__(
        self,
        actor_id: str = FROM_CONTEXT,  # provenance the state needs: before `*`, or eventsourcing requires it
        *,
        tenant: str,
        name: str,
        filters: dict[str, Any],
    ) -> None:
        self.tenant = tenant
        self.name = name
        self.filters = filters
        self.created_by = actor_id
