"""API hardening as pure ASGI middleware: rate limits, a request body cap, and security headers.

Registered by `install_hardening`, outermost first: security headers (so every answer below gets
them), then the rate limit (a refused request costs no body read), then the body size cap.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import math
import re
import time
from typing import cast

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, HTTPExceptionHandler, Message, Receive, Scope, Send

from api.problems import problem_response
from infrastructure.keys import KEY_PREFIX
from infrastructure.settings import Settings

UNLIMITED_PATHS = frozenset({"/healthz"})

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc as FastAPI serves them: scripts and styles from jsDelivr, ReDoc's fonts from
# Google Fonts, the favicon and ReDoc's logo, the schema fetched from here. Inline scripts are allowed by hash.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net{hashes}; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def install_hardening(app: FastAPI, settings: Settings) -> None:
    """Add the hardening middleware to `app`; call it last, after the problem handlers and other middleware."""
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit:
        app.add_middleware(RateLimitMiddleware, limit=settings.rate_limit)
    docs_paths = frozenset(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs_paths)
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
    """Security headers on every HTTP response; a CSP that lets the interactive docs load."""

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

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                _secure(MutableHeaders(scope=message), API_CSP)
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


class RateLimitMiddleware:
    """Requests per API key (per client address without one) over a moving window, in this process's memory."""

    def __init__(self, app: ASGIApp, *, limit: str, unlimited_paths: frozenset[str] = UNLIMITED_PATHS) -> None:
        self.app = app
        self.items: list[RateLimitItem] = parse_many(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.unlimited_paths = unlimited_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 429 with Retry-After when the caller has used up any of the limits."""
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        caller = caller_of(scope)
        # The storage is synchronous and in memory: no await between test and hit, so no race.
        exhausted = [item for item in self.items if not self.limiter.test(item, caller)]
        if not exhausted:
            for item in self.items:
                self.limiter.hit(item, caller)
            await self.app(scope, receive, send)
            return
        now = time.time()
        resets = (self.limiter.get_window_stats(item, caller).reset_time for item in exhausted)
        retry_after = max(1, math.ceil(max(resets) - now))
        who = "this API key" if caller.startswith("key:") else "this client address"
        detail = f"rate limit of {exhausted[0]} exceeded for {who}; retry in {retry_after} s"
        response = problem_response(Request(scope), 429, "rate-limited", detail)
        response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)


def caller_of(scope: Scope) -> str:
    """Who a request counts against: the key id of an `ldk_<key_id>_<secret>` bearer token, else the client address.

    No database lookup: a made-up key id is counted as a caller of its own, and gets 401 further in.
    """
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        prefix, _, rest = token.strip().partition("_")
        key_id, separator, secret = rest.partition("_")
        if prefix == KEY_PREFIX and key_id and separator and secret:
            return f"key:{key_id}"
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


class _BodyTooLargeError(Exception):
    """Raised from `receive` once a body grows past the limit, to stop the app reading it."""


class BodySizeLimitMiddleware:
    """413 for a body over the limit: at once by Content-Length, or as soon as a chunked body passes it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body as the app reads it; hand it no byte past the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
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
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than the limit of {self.max_bytes} bytes"
        response = problem_response(Request(scope), 413, "too-large", detail)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
