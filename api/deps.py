"""Dependencies shared by the routers: the services, the caller, the channel and If-Match.

Dependencies are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and a hop
there and back for every small function was a measurable part of each request. What does I/O
hops to the pool itself, and only when it must: the caller's key is usually found already by the
rate limit (api/authentication.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import Depends, Header, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.authentication import authenticate
from api.plain_text import ChannelOrEmpty, DocumentedPattern, PlainText
from api.problems import ProblemError
from domain.actors import Actor, channel
from domain.errors import ExpectedVersion
from domain.helpdesk import HelpDesk
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.readmodels.store import ReadModels
from infrastructure.readmodels.waiting import TooManyWaitsError

_bearer = HTTPBearer(auto_error=False, description="An API key made with `ledgerdesk keys create`.")

log = logging.getLogger("ledgerdesk.api")


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


# If-Match as RFC 9110 (section 13.1.1) writes it: `*`, or a list of entity tags, weak (`W/"3"`) or
# strong (`"3"`), whose opaque part is any visible character but `"`; empty list elements are allowed.
_ETAG_CHARACTER = r"[\x21\x23-\x7E\x80-\xFF]"
_ENTITY_TAG = rf'(?:W/)?"{_ETAG_CHARACTER}*"'
#: What If-Match may hold. Anything else is malformed: 400. A well-formed one that names no
#: current version (a stale one, a weak one, another server's) does not match: 412.
IF_MATCH_PATTERN = rf"^[ \t]*(?:\*|(?:,[ \t]*)*{_ENTITY_TAG}(?:[ \t]*,(?:[ \t]*{_ENTITY_TAG})?)*)[ \t]*$"
IfMatchHeader = Annotated[PlainText, DocumentedPattern(IF_MATCH_PATTERN)]
_IF_MATCH = re.compile(IF_MATCH_PATTERN)
_TAG = re.compile(rf'(W/)?"({_ETAG_CHARACTER}*)"')
# The opaque part of a ticket ETag (`etag()`), written as the server writes it: `"03"` is not `"3"`.
_VERSION = re.compile(r"[1-9][0-9]{0,18}")


def matched_versions(if_match: str) -> frozenset[int] | None:
    """The ticket versions an If-Match value matches, or None for `*` (any current one); ValueError if malformed.

    If-Match compares strongly (RFC 9110, section 8.8.3.2): a weak tag never matches, so only the
    strong tags that are ticket ETags name versions. A list matches if any of its tags does.
    """
    if _IF_MATCH.fullmatch(if_match) is None:
        raise ValueError(if_match)
    if if_match.strip() == "*":
        return None
    strong = (opaque for weak, opaque in _TAG.findall(if_match) if not weak)
    return frozenset(int(opaque) for opaque in strong if _VERSION.fullmatch(opaque))


async def get_channel(
    ledgerdesk_channel: Annotated[
        ChannelOrEmpty | None,
        Header(description="The channel a change came through (web, email, phone, chat, ...). Default: api."),
    ] = None,
) -> str:
    """The channel recorded on the events of this request."""
    return channel(ledgerdesk_channel or "api")


ChannelDep = Annotated[str, Depends(get_channel)]


async def get_if_match(
    request: Request,
    if_match: Annotated[
        IfMatchHeader | None,
        Header(
            description='The ticket version you last saw, as its ETag ("3"), or a list of them ("2", "3"). '
            'A stale one gets 412, and so does a weak one (W/"3"): If-Match compares strongly. '
            "`*` is whatever version is current. A value that is no entity tag gets 400.",
            examples=['"1"', '"1", "2"', "*"],
        ),
    ] = None,
) -> frozenset[int] | None:
    """The versions If-Match matches; None when the header is absent or `*`; 400 when it is malformed."""
    if if_match is None:
        return None
    # Several If-Match lines are one comma-separated list (RFC 9110, section 5.3); FastAPI passes only the first.
    value = ", ".join(request.headers.getlist("if-match"))
    try:
        return matched_versions(value)
    except ValueError:
        detail = f'If-Match must be * or a list of entity tags such as "3" (got {value!r})'
        raise ProblemError(400, "malformed-if-match", detail) from None


IfMatchDep = Annotated[frozenset[int] | None, Depends(get_if_match)]


async def get_expected_version(versions: IfMatchDep) -> int | None:
    """The one version If-Match names, for routes that compare a single one; 412 when it names not one."""
    if versions is None:
        return None
    if len(versions) != 1:
        raise ProblemError(412, "version-mismatch", "If-Match names no single strong ticket ETag")
    return next(iter(versions))


ExpectedVersionDep = Annotated[int | None, Depends(get_expected_version)]


def etag(version: int) -> str:
    """The strong ETag of a ticket version."""
    return f'"{version}"'


class Provenance(TypedDict):
    """The keyword arguments every HelpDesk command takes besides its own."""

    by: Actor
    via: str
    expected_version: ExpectedVersion | None
    tenant: str


@dataclass(frozen=True, slots=True)
class CommandCall:
    """What a command endpoint needs: the application, and who asks, through which channel, at which version."""

    desk: HelpDesk
    provenance: Provenance


async def get_command_call(
    desk: DeskDep, principal: PrincipalDep, via: ChannelDep, expected_version: IfMatchDep
) -> CommandCall:
    """Bundle the per-request command arguments."""
    provenance = Provenance(by=principal.actor, via=via, expected_version=expected_version, tenant=principal.tenant)
    return CommandCall(desk, provenance)


CommandDep = Annotated[CommandCall, Depends(get_command_call)]


VIEW_POSITION_HEADER = "Ledgerdesk-View-Position"
MAX_POSITION = 2**63 - 1
# The `min_position` query parameter every read-model query model declares, read here with the same
# rules so the wait can happen before the endpoint runs.
_POSITION = TypeAdapter(Annotated[int, Field(ge=0, le=MAX_POSITION)])


READ_FROM_HEADER = "Ledgerdesk-Read-From"


@dataclass(frozen=True, slots=True)
class ViewRead:
    """What a read-model endpoint needs: the read models to read, the caller, and how far its wait got."""

    services: Services
    principal: Principal
    response: Response
    read_models: ReadModels  # the replica's, when it has reached what the request asks for; else the primary's
    reached: int | None = None

    def position(self) -> int:
        """How far the view is for this request (after the wait `get_view_read` did); also sent as a header."""
        position = self.reached if self.reached is not None else self.read_models.position()
        return self.read_at(position)

    def read_at(self, position: int) -> int:
        """Send the position an answer was read at, when the answer's own statement read it (then no `position()`).

        It is at least `reached`: the wait saw these read models get there, and they only move forward.
        """
        self.response.headers[VIEW_POSITION_HEADER] = str(position)
        return position


async def get_view_read(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    response: Response,
    ledgerdesk_min_position: Annotated[
        int | None,
        Header(
            ge=0,
            le=MAX_POSITION,
            description="Wait until the read model has applied this log position (read-your-writes).",
        ),
    ] = None,
) -> ViewRead:
    """Bundle what read-model endpoints need, once the read model has reached the position asked for.

    The wait happens here, on the event loop, holding no thread (see infrastructure/readmodels/waiting.py).
    """
    wanted = max(_query_position(request), ledgerdesk_min_position or 0)
    replica = services.replica_reads
    if replica is not None:
        # The replica serves when it has the position asked for, and all this process has seen (so reads never
        # go back in time); otherwise the primary answers, after its wait (infrastructure/readmodels/replica.py).
        position = await run_in_threadpool(_replica_position, replica.read_models)
        if position is not None and position >= max(wanted, replica.floor()):
            response.headers[READ_FROM_HEADER] = "replica"
            return ViewRead(services, principal, response, replica.read_models, position if wanted else None)
    reached = await _reach(services, principal, wanted) if wanted else None
    if replica is not None:
        response.headers[READ_FROM_HEADER] = "primary"
        primary: int = reached if reached is not None else await run_in_threadpool(services.read_models.position)
        replica.note(primary)
    return ViewRead(services, principal, response, services.read_models, reached)


def _query_position(request: Request) -> int:
    """`?min_position=` as the endpoint's query model will read it; 0 when absent or invalid (the model says 422)."""
    raw = request.query_params.get("min_position")
    if raw is None:
        return 0
    try:
        return _POSITION.validate_python(raw, strict=False)
    except ValidationError:
        return 0


async def _reach(services: Services, principal: Principal, wanted: int) -> int | None:
    """Wait (bounded) for `wanted`; 422 beyond the log's head, 429 past the key's share of waits."""
    read_models = services.read_models
    position, head = await run_in_threadpool(_position_and_head, read_models, wanted)
    if position >= wanted:
        return position
    if wanted > head:
        detail = (
            f"min_position (or Ledgerdesk-Min-Position) {wanted} is beyond the last position of the event log "
            f"({head}); pass the Ledgerdesk-Position of a command you made"
        )
        raise ProblemError(422, "position-beyond-head", detail)
    try:
        return await read_models.reach(wanted, services.settings.read_wait_seconds, caller=principal.key_id)
    except TooManyWaitsError as error:
        raise ProblemError(429, "too-many-waits", f"{error}; retry shortly", {"Retry-After": "1"}) from None


def _replica_position(replica: ReadModels) -> int | None:
    """How far the replica's view is; None when the replica cannot say (away, or new and without the tables yet)."""
    try:
        return replica.position()
    except Exception:  # any failure of the replica: the primary answers instead, as it would without one
        log.warning("the read replica did not answer; reading from the primary", exc_info=True)
        return None


def _position_and_head(read_models: ReadModels, wanted: int) -> tuple[int, int]:
    """The view's position, and the log's head when the view is short of `wanted` (one thread-pool call)."""
    position = read_models.position()
    return position, (read_models.head() if position < wanted else position)


ViewReadDep = Annotated[ViewRead, Depends(get_view_read)]
