"""Who a request acts as, looked up once per request.

The rate limit must know whether a presented key is real before it counts the request against
that key, so it authenticates in its middleware, before any body is read; `get_principal` then
reuses the answer instead of asking the key store a second time. Without the rate limit,
`get_principal` authenticates by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import Scope

from infrastructure.keys import KEY_PREFIX, KeyStore, Principal

_STATE = "ledgerdesk.authentication"


@dataclass(frozen=True, slots=True)
class Presented:
    """The bearer token a request carries, and the key id it names when it is shaped like our keys."""

    token: str
    key_id: str | None


@dataclass(frozen=True, slots=True)
class Authentication:
    """The outcome of authenticating one token: its principal, or None for an unknown or revoked key."""

    token: str
    principal: Principal | None


def presented(scope: Scope) -> Presented | None:
    """The bearer token of a request, parsed as FastAPI's `HTTPBearer` parses it; None without one."""
    scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
    if scheme.lower() != "bearer" or not token:
        return None
    return Presented(token, key_id_of(token))


def key_id_of(token: str) -> str | None:
    """The key id of an `ldk_<key_id>_<secret>` token (no database lookup: the id may be made up)."""
    prefix, _, rest = token.partition("_")
    key_id, separator, secret = rest.partition("_")
    if prefix == KEY_PREFIX and key_id and separator and secret:
        return key_id
    return None


async def authenticate(scope: Scope, keys: KeyStore, token: str) -> Principal | None:
    """Look the token up and remember the outcome on the request.

    A key this process verified a moment ago is answered here on the event loop; any other lookup
    is a database read, so it runs in the thread pool.
    """
    known = recall(scope, token)
    if known is not None:
        return known.principal
    principal = keys.remembered(token)
    if principal is None:
        principal = await run_in_threadpool(keys.authenticate, token)
    scope.setdefault("state", {})[_STATE] = Authentication(token, principal)
    return principal


def recall(scope: Scope, token: str) -> Authentication | None:
    """The outcome already found for this token in this request, if any."""
    known = scope.get("state", {}).get(_STATE)
    if isinstance(known, Authentication) and known.token == token:
        return known
    return None
