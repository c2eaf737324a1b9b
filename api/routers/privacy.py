"""Erasure of a person's personal data (crypto-shredding), for admins."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.plain_text import Identifier
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from infrastructure.privacy.erasure import as_dict

router = APIRouter(prefix="/privacy", tags=["privacy"])


class ErasureRequest(BaseModel):
    """Whose personal data to erase, within the caller's tenant."""

    model_config = ConfigDict(extra="forbid")
    person_id: Identifier = Field(
        min_length=1, max_length=128, description="The person's id: a requester id or a comment author's actor id."
    )


class ErasureResult(BaseModel):
    """What the erasure did."""

    tenant: str
    person_id: str
    tickets: int = Field(description="Tickets that held data of the person and recorded its erasure.")
    keys_destroyed: int = Field(description="Data keys destroyed (0 when the person had none left).")
    responses_forgotten: int = Field(description="Kept idempotent responses naming the person that were dropped.")
    position: int = Field(description="Log position of the erasure's last event.")
    read_models_erased: bool = Field(
        description="Whether the read models had applied the erasure (rows scrubbed, old row versions vacuumed) "
        "before this answer; if not, they do so as soon as their worker catches up (docs/privacy.md)."
    )


@router.post("/erasures", response_model=ErasureResult, responses=problem_responses(401, 403, 422, 503))
def erase_person(
    body: ErasureRequest, services: ServicesDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> ErasureResult:
    """Erase a person's personal data in the caller's tenant by destroying their data key.

    Afterwards their name, e-mail address, titles and descriptions of their tickets, their
    comment bodies and attachment names read as `[erased]` everywhere: tickets, history,
    as-of, the event feed, exports and read models. The stored events are not changed, so the
    audit hash chain still verifies. Safe to repeat. 503 while the read models lag behind.
    """
    outcome = services.eraser().erase(tenant=principal.tenant, person_id=body.person_id, by=principal.actor, via=via)
    response.headers[POSITION_HEADER] = str(outcome.position)
    return ErasureResult.model_validate(as_dict(outcome))
