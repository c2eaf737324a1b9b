"""Saved views: named ticket-list filters, stored as events and listed from the read model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import ChannelDep, DeskDep, PrincipalDep, ViewReadDep
from api.problems import problem_responses
from api.read_schemas import ReadQuery, SavedViewCreate, SavedViewList, SavedViewPublic
from api.routers.tickets import POSITION_HEADER
from projections.saved_views.rows import SavedViewRow

router = APIRouter(prefix="/views", tags=["saved views"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=SavedViewPublic, responses=problem_responses(401, 409, 422)
)
def save_view(
    body: SavedViewCreate, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> SavedViewPublic:
    """Save a named set of ticket-list filters for the whole tenant. Names are unique (409 if taken)."""
    filters = body.filters.model_dump(mode="json", exclude_defaults=True)
    filters.update(body.model_dump(mode="json", include={"group", "assignee", "unassigned"}, exclude_defaults=True))
    receipt = desk.save_view(tenant=principal.tenant, name=body.name, filters=filters, by=principal.actor, via=via)
    view = receipt.view
    response.headers[POSITION_HEADER] = str(receipt.position)
    response.headers["Location"] = f"/views/{view.name}"
    row = SavedViewRow(view.id, view.tenant, view.name, view.filters, view.created_by, view.created_on)
    return SavedViewPublic.from_row(row)


@router.get("", response_model=SavedViewList, responses=problem_responses(401, 422))
def list_views(query: Annotated[ReadQuery, Query()], read: ViewReadDep) -> SavedViewList:
    """The tenant's saved views, by name. Use a view's filters as query parameters of GET /tickets."""
    position = read.position()
    rows = read.read_models.saved_views().saved_views(read.principal.tenant)
    return SavedViewList(items=[SavedViewPublic.from_row(r) for r in rows], view_position=position)
