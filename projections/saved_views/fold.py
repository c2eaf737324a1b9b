"""How saved views are kept: created by their event, scrubbed of a person when that person is erased."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.privacy.data_subject import DataSubject
from domain.tickets.saved_views import SavedView, erased_filters
from projections.batch import Folding
from projections.saved_views.rows import SavedViewRow


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds change no saved view."""


@fold.register(SavedView.Created)
def _created(event: SavedView.Created, f: Folding) -> None:
    f.batch.saved_views.append(
        SavedViewRow(
            view_id=event.originator_id,
            tenant=event.tenant,
            name=event.name,
            filters=dict(event.filters),
            created_by=event.actor_id,
            created_at=event.timestamp,
        )
    )


@fold.register(DataSubject.PersonErased)
def _person_erased(event: DataSubject.PersonErased, f: Folding) -> None:
    # Saved views of this batch are scrubbed here, stored ones by the tables when the batch is written.
    for view in f.batch.saved_views:
        if view.tenant == event.tenant:
            view.filters = erased_filters(view.filters, saver=view.created_by, person_id=event.person_id)
