"""`GET /me`: who the caller is, as the API knows them from their key."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import PrincipalDep
from api.problems import problem_responses

router = APIRouter(tags=["me"])


class Me(BaseModel):
    """The caller: the actor recorded on their changes, their role and tenant, and what limits their key."""

    actor_id: str
    actor_kind: str = Field(description="agent, requester, api_client or system")
    role: str
    tenant: str
    groups: list[str] | None = Field(description="The groups the key is limited to; null: every group.")
    organisation: str | None = Field(description="A customer's organisation, whose tickets they may read.")
    key_id: str


@router.get("/me", response_model=Me, responses=problem_responses(401))
def who_am_i(principal: PrincipalDep) -> Me:
    """Who the caller is."""
    actor = principal.actor
    return Me(
        actor_id=actor.id,
        actor_kind=actor.kind.value,
        role=principal.role.value,
        tenant=principal.tenant,
        groups=None if actor.groups is None else sorted(actor.groups),
        organisation=actor.organisation,
        key_id=principal.key_id,
    )
