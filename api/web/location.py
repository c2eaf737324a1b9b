"""An agent shares where they are from the phone workspace, for `nearest` routing (docs/field-service.md).

The queue page's "Share my location" button asks the browser for its position (static/share-location.js)
and posts it here; the same command as `PUT /agents/{id}/location` records it, as the agent's own report.
Without the browser's position (no permission, no script) nothing is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.field_schemas import LocationIn
from api.web.pages import render
from api.web.visitors import SignedInDep, VisitorDep, check_form_token
from domain.access import policy as access
from domain.errors import DomainError

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])


@router.post("/me/location", response_class=HTMLResponse)
async def share_location(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    latitude: Annotated[str, Form(max_length=32)] = "",
    longitude: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Record the signed-in agent's position, as the browser gave it."""
    if not access.may(principal.role, "report_location"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        place = LocationIn(latitude=float(latitude), longitude=float(longitude)).to_domain()
    except (ValueError, ValidationError):  # no position (no permission, no script) or not a point on Earth
        return render(request, visitor, "location_shared.html", 422, place=None)
    try:
        await run_in_threadpool(
            services.desk.report_location,
            tenant=principal.tenant,
            agent=principal.actor.id,
            location=place,
            by=principal.actor,
            via="web",
        )
    except DomainError:  # not an agent of the tenant's directory
        return render(request, visitor, "location_shared.html", 409, place=None, unknown=True)
    return render(request, visitor, "location_shared.html", place=place)
