"""One correlation id per request: every event the request causes records it (domain/provenance.py).

A client may send its own in `Ledgerdesk-Correlation-Id` (to find, later, every change one of its
operations made, across tickets and retries); otherwise the server makes one. Either way the
answer carries it back in the same header.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from domain.provenance import CAUSE_ID_MAX, caused_by

HEADER = "ledgerdesk-correlation-id"
#: What a client's correlation id may hold: an id, not text (it is recorded on every event).
CORRELATION_PATTERN = re.compile(rf"[A-Za-z0-9._:@/+=-]{{1,{CAUSE_ID_MAX}}}")


class CorrelationMiddleware:
    """Carry out each request's commands with its correlation id; send the id back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside `caused_by(its id)`; refuse a malformed id with 422."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER)
        if given is not None and not CORRELATION_PATTERN.fullmatch(given):
            detail = f"Ledgerdesk-Correlation-Id must be 1-{CAUSE_ID_MAX} characters of letters, digits and ._:@/+=-"
            await problem_response(Request(scope), 422, "invalid-correlation-id", detail)(scope, receive, send)
            return
        correlation_id = given or str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = correlation_id
            await send(message)

        with caused_by(correlation_id):
            await self.app(scope, receive, send_with_id)
