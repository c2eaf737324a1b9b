"""Custom-field definitions: each field's kind, its options, whether its values are personal data (admins write)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ChannelDep, DeskDep, PrincipalDep
from api.plain_text import Slug
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.schemas import FieldDefinitionIn, FieldDefinitionList, FieldDefinitionPublic

router = APIRouter(prefix="/fields", tags=["custom fields"])


@router.put("/{name}", response_model=FieldDefinitionPublic, responses=problem_responses(401, 403, 422))
def put_field(
    name: Slug, body: FieldDefinitionIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> FieldDefinitionPublic:
    """Define a custom field or change its definition (an identical definition records nothing).

    A defined field's values must be of its kind (422 otherwise); an `enum` or `multi_enum` field
    names its `options` and takes no other value (422 naming them). A `personal` field's values are
    personal data of the ticket's requester: encrypted with their key and erased with them, from
    this definition on (values set before keep the form they were stored in). Undefined fields
    take any kind and are not personal.
    """
    receipt = desk.define_field(
        tenant=principal.tenant,
        name=name,
        kind=body.kind.value,
        personal=body.personal,
        options=body.options,
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return FieldDefinitionPublic.from_domain(desk.field_definition(principal.tenant, receipt.name))


@router.get("", response_model=FieldDefinitionList, responses=problem_responses(401, 403))
def list_fields(desk: DeskDep, principal: PrincipalDep) -> FieldDefinitionList:
    """The tenant's custom-field definitions, by name."""
    return FieldDefinitionList(
        items=[FieldDefinitionPublic.from_domain(d) for d in desk.field_definitions(principal.tenant)]
    )


@router.get("/{name}", response_model=FieldDefinitionPublic, responses=problem_responses(401, 403, 404))
def get_field(name: Slug, desk: DeskDep, principal: PrincipalDep) -> FieldDefinitionPublic:
    """One custom field's definition (404 if the field has none: it is then undefined, any kind, not personal)."""
    return FieldDefinitionPublic.from_domain(desk.field_definition(principal.tenant, name))
