"""Web users of the caller's tenant, for administrators: list, create, change access, reset password, deactivate.

The same store and record as `ledgerdesk users create` (docs/ui.md): every change is an event
(`UserAccount.UserCreated`, `UserAccessChanged`, `UserPasswordReset`, `UserDeactivated`) and a
privileged action in the audit reports.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.problems import problem_responses
from api.user_schemas import PasswordReset, UserAccess, UserCreate, UserIdPath, UserList, UserPublic
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


@router.put("/users/{user_id}/access", response_model=UserPublic, responses=problem_responses(401, 403, 404, 422))
def set_user_access(
    user_id: UserIdPath, body: UserAccess, services: ServicesDep, principal: PrincipalDep, via: ChannelDep
) -> UserPublic:
    """Give an active user a new role and groups, from their next request on; the same again changes nothing."""
    user = services.set_user_access(
        user_id, tenant=principal.tenant, role=body.role, groups=body.groups, by=principal.actor, via=via
    )
    return UserPublic.from_user(user)


@router.post(
    "/users/{user_id}/password-reset", response_model=PasswordReset, responses=problem_responses(401, 403, 404, 422)
)
async def reset_user_password(
    user_id: UserIdPath, services: ServicesDep, principal: PrincipalDep, via: ChannelDep
) -> PasswordReset:
    """Give an active user a new password made by the server, in this answer only; their sessions end at once."""
    user, password = await run_in_threadpool(  # hashing: not on the event loop
        services.reset_password, user_id, tenant=principal.tenant, by=principal.actor, via=via
    )
    return PasswordReset(user=UserPublic.from_user(user), password=password)
