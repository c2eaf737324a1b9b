"""API keys of the caller's tenant, for administrators: issue, list, rotate, revoke (docs/security.md).

The same store and record as `ledgerdesk keys`: each issue, rotation and revocation is an event
(`ApiKey.KeyCreated`, `KeyRotated`, `KeyRevoked`) and a privileged action in the audit reports.
A secret is in the answer that made it and nowhere else; a key of another tenant is not found.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.key_schemas import KeyCreate, KeyIdPath, KeyIssued, KeyList, KeyPublic
from api.problems import problem_responses
from domain.errors import NotFoundError
from infrastructure.composition import Services
from infrastructure.keys import IssuedKey, KeyRecord, Principal

router = APIRouter(tags=["keys"])


@router.get("/keys", response_model=KeyList, responses=problem_responses(401, 403))
def list_keys(services: ServicesDep, principal: PrincipalDep) -> KeyList:
    """The tenant's API keys, live or revoked, oldest first: their holders and dates, never a secret."""
    return KeyList(items=[KeyPublic.from_record(r) for r in tenant_keys(services, principal.tenant)])


@router.post(
    "/keys", response_model=KeyIssued, status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 403, 422)
)
def create_key(body: KeyCreate, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> KeyIssued:
    """Issue a key in the caller's tenant. Its `secret` is in this answer only: store it now."""
    issued = issue_from(services, principal, body, via)
    return KeyIssued.from_issued(issued, key_record(services, principal.tenant, issued.principal.key_id))


def issue_from(services: Services, principal: Principal, body: KeyCreate, via: str) -> IssuedKey:
    """Issue the key a `KeyCreate` describes, in the caller's tenant (the Keys page issues through it too)."""
    return services.issue_key(
        actor_id=body.actor,
        role=body.role,
        tenant=principal.tenant,
        organisation=body.organisation,
        groups=body.groups,
        by=principal.actor,
        via=via,
    )


@router.post("/keys/{key_id}/rotation", response_model=KeyIssued, responses=problem_responses(401, 403, 404))
def rotate_key(key_id: KeyIdPath, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> KeyIssued:
    """Give a live key a new secret, in this answer only; the old secret is refused (401) from now on."""
    issued = rotate_in_tenant(services, principal, key_id, via)
    return KeyIssued.from_issued(issued, key_record(services, principal.tenant, key_id))


def rotate_in_tenant(services: Services, principal: Principal, key_id: str, via: str) -> IssuedKey:
    """Rotate a live key of the caller's tenant; NotFoundError for a revoked, unknown or foreign one."""
    if key_record(services, principal.tenant, key_id).revoked_at is not None:
        raise _no_live_key(key_id)
    rotated = services.rotate_key(key_id, by=principal.actor, via=via)
    if rotated is None:  # revoked meanwhile
        raise _no_live_key(key_id)
    return rotated


@router.post("/keys/{key_id}/revocation", response_model=KeyPublic, responses=problem_responses(401, 403, 404))
def revoke_key(key_id: KeyIdPath, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> KeyPublic:
    """Revoke a key: requests with it get 401 from now on. Revoking a revoked key changes nothing."""
    revoke_in_tenant(services, principal, key_id, via)
    return KeyPublic.from_record(key_record(services, principal.tenant, key_id))


def revoke_in_tenant(services: Services, principal: Principal, key_id: str, via: str) -> None:
    """Revoke a key of the caller's tenant; NotFoundError for an unknown or foreign one."""
    key_record(services, principal.tenant, key_id)
    services.revoke_key(key_id, by=principal.actor, via=via)


def tenant_keys(services: Services, tenant: str) -> list[KeyRecord]:
    """The tenant's keys, oldest first."""
    return [r for r in services.keys.records() if r.principal.tenant == tenant]


def key_record(services: Services, tenant: str, key_id: str) -> KeyRecord:
    """The record of a key of `tenant`; NotFoundError otherwise (another tenant's key is not found either)."""
    found = next((r for r in tenant_keys(services, tenant) if r.principal.key_id == key_id), None)
    if found is None:
        msg = f"no key {key_id}"
        raise NotFoundError(msg)
    return found


def _no_live_key(key_id: str) -> NotFoundError:
    msg = f"no live key {key_id}: a revoked key gets no new secret; issue a new one"
    return NotFoundError(msg)
