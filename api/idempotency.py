"""`Idempotency-Key` on POST: a retried request gets the first response again and stores nothing new.

The same key with a different request (method, path, query or body) is refused with 422; a copy
arriving while the first still runs gets 409 with Retry-After. Responses of 5xx are not kept, so
a retry after a failure runs again. Keys are scoped to the API key that sent them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from infrastructure.idempotency import Claim, IdempotencyStore, StoredResponse, utc_now

HEADER = "idempotency-key"
KEY_MAX = 255
KEPT_HEADERS = ("content-type", "location", "etag", "ledgerdesk-position")


class IdempotencyMiddleware:
    """Pure ASGI middleware, so the response can be kept exactly as it was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything but POSTs with an Idempotency-Key straight through."""
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or scope["method"] != "POST" or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        key = headers[HEADER]
        if not 0 < len(key) <= KEY_MAX or not key.isprintable():
            detail = f"Idempotency-Key must be 1-{KEY_MAX} printable characters"
            await problem_response(Request(scope), 422, "invalid-idempotency-key", detail)(scope, receive, send)
            return
        body = await _read_body(receive)
        store: IdempotencyStore = scope["app"].state.services.idempotency
        scope_key = _digest(headers.get("authorization", ""), key)
        request_hash = _digest(scope["method"], scope["path"], scope.get("query_string", b"").decode(), body.hex())
        outcome = await run_in_threadpool(store.claim, scope_key, request_hash, utc_now())
        if outcome.claim is Claim.RESERVED:
            await self._run_and_keep(scope, body, send, store, scope_key)
        elif outcome.claim is Claim.DONE and outcome.response is not None:
            await _replay(outcome.response, send)
        elif outcome.claim is Claim.MISMATCH:
            detail = "this Idempotency-Key was used for a different request; use a new key"
            await problem_response(Request(scope), 422, "idempotency-key-reused", detail)(scope, receive, send)
        else:
            detail = "a request with this Idempotency-Key is still being processed; retry shortly"
            response = problem_response(Request(scope), 409, "idempotency-key-in-progress", detail)
            response.headers["Retry-After"] = "1"
            await response(scope, receive, send)

    async def _run_and_keep(self, scope: Scope, body: bytes, send: Send, store: IdempotencyStore, key: str) -> None:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(store.release, key)
            raise
        status = int(started.get("status", 500))
        if status >= 500:  # server errors are not answers worth repeating
            await run_in_threadpool(store.release, key)
            return
        kept = Headers(raw=started.get("headers", []))
        response = StoredResponse(status, {h: kept[h] for h in KEPT_HEADERS if h in kept}, b"".join(chunks))
        await run_in_threadpool(store.complete, key, response)


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _replay(response: StoredResponse, send: Send) -> None:
    headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(response.body)).encode())]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
