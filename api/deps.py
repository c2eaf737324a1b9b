"""Dependencies shared by the routers: the services, the caller, the channel and If-Match.

Dependencies are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and a hop
there and back for every small function was a measurable part of each request. What does I/O
hops to the pool itself, and only when it must: the caller's key is usually found already by the
rate limit (api/authentication.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import Depends, Header, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.authentication import authenticate
from api.problems import ProblemError
from domain.actors import Actor, channel
from domain.helpdesk import HelpDesk
from infrastructure.composition import Services
from infrastructure.keys import Principal

_bearer = HTTPBearer(auto_error=False, description="An API key made with `ledgerdesk keys create`.")
_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


async def get_services(request: Request) -> Services:
    """The process's services, built by the app's lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_desk(services: ServicesDep) -> HelpDesk:
    """The HelpDesk application."""
    return services.desk


DeskDep = Annotated[HelpDesk, Depends(get_desk)]


async def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller, from `Authorization: Bearer <key>`; 401 when missing, unknown or revoked."""
    challenge = {"WWW-Authenticate": 'Bearer realm="ledgerdesk"'}
    if credentials is None:
        raise ProblemError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'", challenge)
    principal = await authenticate(request.scope, services.keys, credentials.credentials)
    if principal is None:
        raise ProblemError(401, "unauthorized", "the API key is unknown or revoked", challenge)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_channel(
    ledgerdesk_channel: Annotated[
        str | None,
        Header(description="The channel a change came through (web, email, phone, chat, ...). Default: api."),
    ] = None,
) -> str:
    """The channel recorded on the events of this request."""
    return channel(ledgerdesk_channel or "api")


ChannelDep = Annotated[str, Depends(get_channel)]


async def get_expected_version(
    if_match: Annotated[
        str | None,
        Header(description='The ticket version you last saw, as its ETag ("3"). A stale one gets 412.'),
    ] = None,
) -> int | None:
    """The version named by If-Match, or None when the header is absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match.strip())
    if match is None:
        detail = f'If-Match must be a ticket ETag such as "3" (got {if_match!r})'
        raise ProblemError(412, "version-mismatch", detail)
    return int(match.group(1))


ExpectedVersionDep = Annotated[int | None, Depends(get_expected_version)]


def etag(version: int) -> str:
    """The strong ETag of a ticket version."""
    return f'"{version}"'


class Provenance(TypedDict):
    """The keyword arguments every HelpDesk command takes besides its own."""

    by: Actor
    via: str
    expected_version: int | None
    tenant: str


@dataclass(frozen=True, slots=True)
class CommandCall:
    """What a command endpoint needs: the application, and who asks, through which channel, at which version."""

    desk: HelpDesk
    provenance: Provenance


async def get_command_call(
    desk: DeskDep, principal: PrincipalDep, via: ChannelDep, expected_version: ExpectedVersionDep
) -> CommandCall:
    """Bundle the per-request command arguments."""
    provenance = Provenance(by=principal.actor, via=via, expected_version=expected_version, tenant=principal.tenant)
    return CommandCall(desk, provenance)


CommandDep = Annotated[CommandCall, Depends(get_command_call)]


VIEW_POSITION_HEADER = "Ledgerdesk-View-Position"


@dataclass(frozen=True, slots=True)
class ViewRead:
    """What a read-model endpoint needs: the read models, the caller, and read-your-writes waiting."""

    services: Services
    principal: Principal
    response: Response
    header_min_position: int | None

    def wait(self, min_position: int | None) -> int:
        """Wait (bounded) for the wanted log position; report in a header how far the view is."""
        wanted = max(min_position or 0, self.header_min_position or 0)
        read_models = self.services.read_models
        position = (
            read_models.wait_for(wanted, self.services.settings.read_wait_seconds) if wanted else read_models.position()
        )
        self.response.headers[VIEW_POSITION_HEADER] = str(position)
        return position


async def get_view_read(
    services: ServicesDep,
    principal: PrincipalDep,
    response: Response,
    ledgerdesk_min_position: Annotated[
        int | None,
        Header(
            ge=0,
            le=2**63 - 1,
            description="Wait until the read model has applied this log position (read-your-writes).",
        ),
    ] = None,
) -> ViewRead:
    """Bundle what read-model endpoints need."""
    return ViewRead(services, principal, response, ledgerdesk_min_position)


ViewReadDep = Annotated[ViewRead, Depends(get_view_read)]
