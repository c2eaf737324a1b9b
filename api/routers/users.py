"""Web users of the caller's tenant, for administrators: list, create, deactivate (docs/ui.md).

The same store and record as `ledgerdesk users create`: every creation and deactivation is an event
(`UserAccount.UserCreated`, `UserDeactivated`) and counts in the audit activity reports.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.problems import problem_responses
from api.user_schemas import UserCreate, UserIdPath, UserList, UserPublic
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.users import WebUser, default_actor_id

router = APIRouter(tags=["users"])


@router.get("/users", response_model=UserList, responses=problem_responses(401, 403))
def list_users(services: ServicesDep, principal: PrincipalDep) -> UserList:
    """The tenant's web users, active or not, by address."""
    return UserList(items=[UserPublic.from_user(u) for u in services.users.of_tenant(principal.tenant)])


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
)
async def create_user(body: UserCreate, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> UserPublic:
    """Create a web user of the caller's tenant; a taken address or settings that do not fit are 422."""
    user = await run_in_threadpool(create_from, services, principal, body, via)  # hashing: not on the event loop
    return UserPublic.from_user(user)


def create_from(services: Services, principal: Principal, body: UserCreate, via: str) -> WebUser:
    """Create the user a `UserCreate` describes, in the caller's tenant (the web page creates through it too)."""
    return services.create_user(
        email=body.email,
        password=body.password.get_secret_value(),
        actor_id=body.actor_id or default_actor_id(body.email),
        role=body.role,
        tenant=principal.tenant,
        organisation=body.organisation,
        groups=body.groups,
        language=body.language,
        time_zone=body.time_zone,
        by=principal.actor,
        via=via,
    )


@router.post(
    "/users/{user_id}/deactivation", response_model=UserPublic, responses=problem_responses(401, 403, 404, 422)
)
def deactivate_user(user_id: UserIdPath, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> UserPublic:
    """Stop a user signing in and end their sessions at once; deactivating an inactive user changes nothing."""
    user = services.deactivate_user(user_id, tenant=principal.tenant, by=principal.actor, via=via)
    return UserPublic.from_user(user)
