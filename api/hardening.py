"""API hardening as pure ASGI middleware: rate limits, a request body cap, and security headers.

Registered by `install_hardening`, outermost first: security headers (so every answer below gets
them), then the rate limit (a refused request costs no body read), then the body size cap, then
the check that a JSON operation's body is JSON (api/media_types.py).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import cast

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from psycopg_pool import PoolTimeout
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, HTTPExceptionHandler, Message, Receive, Scope, Send

from api.authentication import authenticate, presented
from api.docs_pages import DOCS_PAGES
from api.media_types import JsonBodyMiddleware
from api.problems import problem_response
from api.web.paths import is_web_path
from domain.values import ATTACHMENTS_MAX
from infrastructure.settings import Settings

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
#: Where files are uploaded (api/routers/attachments.py; the ticket page's comment form, api/web/ticket_page.py):
#: bodies there may be as large as `upload_max_bytes`.
UPLOAD_PATH = re.compile(r"/tickets/[^/]+/attachments|/t/[^/]+/comments")
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
log = logging.getLogger(__name__)

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc (api/docs_pages.py): scripts, style sheet and icon from this site, the schema fetched
# from here; their inline scripts are allowed by hash, their inline styles (ReDoc writes its own) as such.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The web pages (api/web): their own scripts, style sheet and images, forms posted back to this site only.
WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def install_hardening(app: FastAPI, settings: Settings) -> None:
    """Add the hardening middleware to `app`; call it last, after the problem handlers and other middleware."""
    app.add_middleware(JsonBodyMiddleware)
    # An upload carries up to ATTACHMENTS_MAX files of the largest size, beside the comment's text.
    uploads = settings.attachment_max_bytes * ATTACHMENTS_MAX + settings.max_body_bytes
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, upload_max_bytes=uploads)
    if settings.rate_limit or settings.auth_failure_limit:
        app.add_middleware(RateLimitMiddleware, limit=settings.rate_limit, failure_limit=settings.auth_failure_limit)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=DOCS_PAGES)
    # Starlette answers unhandled errors (500) outside all middleware, so they get the headers here.
    if Exception in app.exception_handlers:
        unexpected = cast("HTTPExceptionHandler", app.exception_handlers[Exception])

        async def unexpected_with_headers(request: Request, error: Exception) -> Response:
            answer = unexpected(request, error)
            response = await answer if inspect.isawaitable(answer) else answer
            _secure(response.headers, API_CSP)
            return response

        app.add_exception_handler(Exception, unexpected_with_headers)


def _secure(headers: MutableHeaders, csp: str) -> None:
    for name, value in BASE_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("content-security-policy", csp)


class SecurityHeadersMiddleware:
    """Security headers on every HTTP response; a CSP that lets the interactive docs and the web pages load."""

    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers as the response starts; on the docs pages, once their HTML is complete."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self.app(scope, receive, _DocsPage(send).send)
            return

        web = is_web_path(scope["path"])

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # Only the pages' HTML needs their policy; `/` answers other clients with the API's JSON.
                page = web and headers.get("content-type", "").startswith("text/html")
                _secure(headers, WEB_CSP if page else API_CSP)
            await send(message)

        await self.app(scope, receive, send_secured)


class _DocsPage:
    """Holds back a docs page (a few kB of HTML) to allow exactly its inline scripts by hash."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self._body)
        digests = (hashlib.sha256(script).digest() for script in _INLINE_SCRIPT.findall(body))
        hashes = "".join(f" 'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)
        _secure(MutableHeaders(scope=self._start), DOCS_CSP.format(hashes=hashes))
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True)
class _Bucket:
    """One allowance: the limits, whose requests they count, and how a refusal names them."""

    items: list[RateLimitItem]
    name: str
    who: str


class RateLimitMiddleware:
    """Rate limits over moving windows, in this process's memory, with one bucket per kind of caller.

    * A request whose key authenticates counts against that key (`limit`).
    * A request with a key that does not authenticate counts as a failure against its client address
      and against the key id it names (`failure_limit`): whoever forges tokens for a key id uses up
      the failures' allowance, never the real key's.
    * A request without any key counts against its client address (`limit`).

    The key is looked up here, before the app reads any body, so a refused request costs one indexed
    read and no body; `get_principal` reuses the answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: str,
        failure_limit: str = "",
        unlimited_paths: frozenset[str] = UNLIMITED_PATHS,
    ) -> None:
        self.app = app
        self.items: list[RateLimitItem] = parse_many(limit) if limit else []
        self.failure_items: list[RateLimitItem] = parse_many(failure_limit) if failure_limit else []
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.unlimited_paths = unlimited_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 429 with Retry-After when any bucket the request counts against is used up."""
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        try:
            buckets = await self._buckets(scope)
        except DATABASE_UNAVAILABLE:
            # The app's handlers answer it (503 with Retry-After) when `get_principal` asks again.
            log.warning("the key store is not answering; passing the request on without a rate limit")
            buckets = []
        refusal = self._take(buckets)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await problem_response(Request(scope), 429, "rate-limited", refusal[0], headers=refusal[1])(
            scope, receive, send
        )

    async def _buckets(self, scope: Scope) -> list[_Bucket]:
        address = client_address(scope)
        token = presented(scope)
        if token is None:
            return [_Bucket(self.items, f"addr:{address}", "this client address")]
        keys = scope["app"].state.services.keys
        principal = await authenticate(scope, keys, token.token)
        if principal is not None:
            return [_Bucket(self.items, f"key:{principal.key_id}", "this API key")]
        failures = [_Bucket(self.failure_items, f"failed-addr:{address}", "failed authentications from this address")]
        if token.key_id is not None:
            failures.append(
                _Bucket(self.failure_items, f"failed-key:{token.key_id}", "failed authentications of this key id")
            )
        return failures

    def _take(self, buckets: list[_Bucket]) -> tuple[str, dict[str, str]] | None:
        """Count the request in every bucket, or, if one is used up, return the refusal's detail and headers."""
        # The storage is synchronous and in memory: no await between test and hit, so no race.
        exhausted = [(b, item) for b in buckets for item in b.items if not self.limiter.test(item, b.name)]
        if not exhausted:
            for bucket in buckets:
                for item in bucket.items:
                    self.limiter.hit(item, bucket.name)
            return None
        now = time.time()
        resets = (self.limiter.get_window_stats(item, b.name).reset_time for b, item in exhausted)
        retry_after = max(1, math.ceil(max(resets) - now))
        bucket, item = exhausted[0]
        detail = f"rate limit of {item} exceeded for {bucket.who}; retry in {retry_after} s"
        return detail, {"Retry-After": str(retry_after)}


def client_address(scope: Scope) -> str:
    """The address the request came from, as the server saw it."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class _BodyTooLargeError(Exception):
    """Raised from `receive` once a body grows past the limit, to stop the app reading it."""


class BodySizeLimitMiddleware:
    """413 for a body over the limit: at once by Content-Length, or as soon as a chunked body passes it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = max_bytes if upload_max_bytes is None else upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body as the app reads it; hand it no byte past the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_max_bytes if UPLOAD_PATH.fullmatch(scope["path"]) else self.max_bytes
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        received = 0
        exceeded = started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLargeError
            return message

        async def send_unless_exceeded(message: Message) -> None:
            # Whatever the app answers to the interrupted read (FastAPI makes it a 400) is replaced.
            nonlocal started
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_limited, send_unless_exceeded)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"the request body is larger than the limit of {limit} bytes"
        response = problem_response(Request(scope), 413, "too-large", detail)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
