"""`Idempotency-Key` on POST: a retried request gets the first outcome again and stores nothing new.

Keys belong to the authenticated caller (tenant and API key id); a request that does not
authenticate passes on to the app (which answers 401) without touching the key store. The same
key with a different request (method, path, query or body) is refused with 422; a copy arriving
while the first still holds its lease gets 409 with Retry-After. The lease is renewed while the
request runs; when its process dies, the lease lapses and the next retry is answered from what
the first request stored (infrastructure/idempotency.py), or runs it if it stored nothing.
Responses of 5xx are not kept. A database that does not answer gives 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.authentication import authenticate, presented
from api.idempotent_replay import rebuilt
from api.problems import problem_response
from infrastructure.composition import Services
from infrastructure.idempotency import Claim, KeyScope, Outcome, StoredResponse, reserved, utc_now
from infrastructure.keys import Principal

HEADER = "idempotency-key"
KEY_MAX = 255
KEPT_HEADERS = ("content-type", "location", "etag", "ledgerdesk-position")
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)

log = logging.getLogger(__name__)


class IdempotencyMiddleware:
    """Pure ASGI middleware, so the response can be kept exactly as it was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything but authenticated POSTs with an Idempotency-Key straight through."""
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or scope["method"] != "POST" or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        key = headers[HEADER]
        if not 0 < len(key) <= KEY_MAX or not key.isprintable():
            detail = f"Idempotency-Key must be 1-{KEY_MAX} printable characters"
            await problem_response(Request(scope), 422, "invalid-idempotency-key", detail)(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        try:
            principal = await _principal(scope, services)
        except DATABASE_UNAVAILABLE as error:  # raised outside the app's handlers: answer as they would
            await _unavailable(scope, error)(scope, receive, send)
            return
        if principal is None:  # the app answers 401; nothing is stored for a caller we do not know
            await self.app(scope, receive, send)
            return
        await self._keyed(scope, receive, send, services, principal, key)

    async def _keyed(
        self, scope: Scope, receive: Receive, send: Send, services: Services, principal: Principal, key: str
    ) -> None:
        body = await _read_body(receive)
        key_scope = KeyScope(principal.tenant, principal.key_id, key)
        request_hash = _digest(scope["method"], scope["path"], scope.get("query_string", b"").decode(), body.hex())
        try:
            outcome = await run_in_threadpool(services.idempotency.claim, key_scope, request_hash, utc_now())
        except DATABASE_UNAVAILABLE as error:
            await _unavailable(scope, error)(scope, receive, send)
            return
        if outcome.claim is Claim.RESERVED and outcome.token is not None:
            await _Run(self.app, services, key_scope, outcome.token).serve(scope, body, send)
            return
        try:
            response = await _answer(scope, services, principal, outcome)
        except DATABASE_UNAVAILABLE as error:
            response = _unavailable(scope, error)
        await response(scope, receive, send)


async def _principal(scope: Scope, services: Services) -> Principal | None:
    """The caller, found as `get_principal` finds it (and remembered on the request for it)."""
    token = presented(scope)
    return None if token is None else await authenticate(scope, services.keys, token.token)


async def _answer(scope: Scope, services: Services, principal: Principal, outcome: Outcome) -> Response:
    """The answer to a request whose key is already taken: the first outcome, or why there is none."""
    request = Request(scope)
    if outcome.claim is Claim.DONE and outcome.response is not None and outcome.response.body is not None:
        return _replayed(outcome.response.status, outcome.response.headers, outcome.response.body)
    if outcome.claim is Claim.STORED and outcome.command is not None:
        again = await run_in_threadpool(rebuilt, scope, services, principal, outcome.command, outcome.response)
        if again is not None:
            return _replayed(again.status, again.headers, again.body or b"")
        detail = "the request was stored, but its response was lost and cannot be rebuilt; read the resource"
        return problem_response(request, 409, "idempotency-key-response-lost", detail)
    if outcome.claim is Claim.PURGED:
        detail = "the first response named a person whose data was since erased; it is not kept or run again"
        return problem_response(request, 409, "idempotency-key-purged", detail)
    if outcome.claim is Claim.MISMATCH:
        detail = "this Idempotency-Key was used for a different request; use a new key"
        return problem_response(request, 422, "idempotency-key-reused", detail)
    detail = "a request with this Idempotency-Key is still being processed; retry shortly"
    return problem_response(request, 409, "idempotency-key-in-progress", detail, headers={"Retry-After": "1"})


class _Run:
    """One run of a request under its lease: renew the lease while it runs, then keep or release the key."""

    def __init__(self, app: ASGIApp, services: Services, key: KeyScope, token: str) -> None:
        self.app, self.store, self.key, self.token = app, services.idempotency, key, token
        self.started: dict[str, Any] = {}
        self.chunks: list[bytes] = []

    async def serve(self, scope: Scope, body: bytes, send: Send) -> None:
        """Run the app with the body already read, sending its response on as it comes."""

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started.update(message)
            elif message["type"] == "http.response.body":
                self.chunks.append(message.get("body", b""))
            await send(message)

        renewing = asyncio.create_task(self._renew())
        try:
            with reserved(self.store.reservation(self.key, self.token)):
                await self.app(scope, replay_body, capture)
        except BaseException:
            await self._quietly(self.store.release, self.key, self.token, utc_now())
            raise
        finally:
            renewing.cancel()
        await self._finish()

    async def _finish(self) -> None:
        status = int(self.started.get("status", 500))
        if status >= 500:  # server errors are not answers worth repeating
            await self._quietly(self.store.release, self.key, self.token, utc_now())
            return
        kept = Headers(raw=self.started.get("headers", []))
        response = StoredResponse(status, {h: kept[h] for h in KEPT_HEADERS if h in kept}, b"".join(self.chunks))
        # The response is sent already; if it cannot be kept, the lease lapses and a retry is answered
        # from what was stored.
        await self._quietly(self.store.complete, self.key, self.token, response)

    async def _renew(self) -> None:
        """Renew the lease at a third of its length, so one slow renewal does not lose it."""
        while True:
            await asyncio.sleep(self.store.lease.total_seconds() / 3)
            await self._quietly(self.store.renew, self.key, self.token, utc_now())

    @staticmethod
    async def _quietly(function: Any, *args: Any) -> None:
        """Call a key-store method in the thread pool; a database outage only lets the lease lapse."""
        try:
            await run_in_threadpool(function, *args)
        except DATABASE_UNAVAILABLE as error:
            log.warning("could not update an Idempotency-Key (%s); its lease will lapse", type(error).__name__)


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replayed(status: int, headers: dict[str, str], body: bytes) -> Response:
    response = Response(body, status_code=status, headers=headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _unavailable(scope: Scope, error: Exception) -> Response:
    log.warning("database unavailable for an Idempotency-Key on POST %s: %s", scope["path"], type(error).__name__)
    detail = "the database is not answering; nothing was stored, retry shortly"
    return problem_response(Request(scope), 503, "database-unavailable", detail, headers={"Retry-After": "1"})


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
