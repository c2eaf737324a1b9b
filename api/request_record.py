"""Each request's record: its ids, its line in the log and its count in the metrics.

- One correlation id per request: every event the request causes records it
  (domain/provenance.py). A client may send its own in `Ledgerdesk-Correlation-Id` (to find,
  later, every change one of its operations made, across tickets and retries); otherwise the
  server makes one. Either way the answer carries it back in the same header.
- One request id, made here for every request and sent back in `Ledgerdesk-Request-Id`: it names
  this one request in the logs, where a correlation id may span many.
- When the answer is complete: one count and one latency under the route's template
  (`/tickets/{ticket_id}`, never the path itself: ids would make a series each), and with
  `LEDGERDESK_LOG_FORMAT=json`, one line in the log (`ledgerdesk.requests`).

One layer does all of it, since each needs the same two moments: the request's arrival and its answer's end.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from domain.provenance import CAUSE_ID_MAX, caused_by
from infrastructure.logs import REQUEST_ID
from infrastructure.telemetry import Telemetry

HEADER = "ledgerdesk-correlation-id"
REQUEST_HEADER = "ledgerdesk-request-id"
#: What a client's correlation id may hold: an id, not text (it is recorded on every event).
CORRELATION_PATTERN = re.compile(rf"[A-Za-z0-9._:@/+=-]{{1,{CAUSE_ID_MAX}}}")
#: The route label of a request no route took (a 404 for an unknown path): one series, whatever the path.
UNMATCHED = "unmatched"

log = logging.getLogger("ledgerdesk.requests")


class RequestRecordMiddleware:
    """Carry out each request's commands with its correlation id; send the ids back; count and log the answer."""

    def __init__(self, app: ASGIApp, *, log_requests: bool = False) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside `caused_by(its id)`; refuse a malformed id with 422."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        given = Headers(scope=scope).get(HEADER)
        correlation_id = given or str(uuid.uuid4())
        status = 500  # if the app ends without an answer, the server answers 500
        finished = False

        async def send_with_ids(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[HEADER] = correlation_id
                headers[REQUEST_HEADER] = request_id
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
                self._record(scope, status, started)

        token = REQUEST_ID.set(request_id)
        try:
            if given is not None and not CORRELATION_PATTERN.fullmatch(given):
                detail = (
                    f"Ledgerdesk-Correlation-Id must be 1-{CAUSE_ID_MAX} characters of letters, digits and ._:@/+=-"
                )
                refusal = problem_response(Request(scope), 422, "invalid-correlation-id", detail)
                await refusal(scope, receive, send_with_ids)
                return
            with caused_by(correlation_id):
                await self.app(scope, receive, send_with_ids)
        finally:
            if not finished:  # the client went away, or the app raised: still counted, as the server's answer
                self._record(scope, status, started)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope["method"]
        telemetry: Telemetry = scope["app"].state.services.telemetry
        telemetry.answered(method, template, status, seconds)
        if self.log_requests:
            log.info(
                "%s %s %s",
                method,
                scope["path"],
                status,
                extra={
                    "method": method,
                    "route": template,
                    "path": scope["path"],
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                },
            )
