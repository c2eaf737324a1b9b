"""Customer profiles (docs/customers.md): an admin sets or removes a customer's whole profile; staff read it.

A profile belongs to one tenant: another tenant's customer has none here (404). Customers never
read profiles (the access policy's `get_customer_profile`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.customer_schemas import ProfileIn, ProfilePublic
from api.deps import ChannelDep, DeskDep, PrincipalDep, etag
from api.plain_text import IdentifierParam
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from domain.customers.commands import ProfileReceipt
from domain.customers.profile import CustomerProfile
from domain.errors import NotFoundError

router = APIRouter(prefix="/customers", tags=["customers"])


def _public(record: CustomerProfile) -> ProfilePublic:
    if record.profile is None:  # removed: as if there never was one
        msg = f"no profile for customer {record.customer_id!r}"
        raise NotFoundError(msg)
    return ProfilePublic.of(record.customer_id, record.profile, record.version)


def _answer(receipt: ProfileReceipt, response: Response) -> None:
    response.headers["ETag"] = etag(receipt.record.version)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)


@router.put("/{customer_id}/profile", response_model=ProfilePublic, responses=problem_responses(401, 403, 409, 422))
def put_customer_profile(
    customer_id: IdentifierParam,
    body: ProfileIn,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> ProfilePublic:
    """Set the customer's whole profile (what the body leaves out is cleared; the same profile records nothing).

    422 names what is wrong and records nothing.
    """
    receipt = desk.set_customer_profile(
        tenant=principal.tenant, customer_id=customer_id, checked=body.checked(), by=principal.actor, via=via
    )
    _answer(receipt, response)
    return _public(receipt.record)


@router.get("/{customer_id}/profile", response_model=ProfilePublic, responses=problem_responses(401, 403, 404))
def get_customer_profile(customer_id: IdentifierParam, desk: DeskDep, principal: PrincipalDep) -> ProfilePublic:
    """The customer's profile (404 if it has none in the caller's tenant)."""
    return _public(desk.customer_profile(principal.tenant, customer_id))


@router.delete(
    "/{customer_id}/profile",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def delete_customer_profile(
    customer_id: IdentifierParam, desk: DeskDep, principal: PrincipalDep, via: ChannelDep
) -> Response:
    """Remove the customer's profile (404 if it has none); its history stays on record."""
    receipt = desk.remove_customer_profile(
        tenant=principal.tenant, customer_id=customer_id, by=principal.actor, via=via
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _answer(receipt, response)
    return response
