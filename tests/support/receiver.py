"""A real webhook receiver for tests: an HTTP server on loopback that verifies each delivery with `standardwebhooks`.

It can be stopped (deliveries then fail: the connection is refused) and started again on the
same port, and made to answer with an error status for a while.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request the receiver took: its webhook-id, the verified event, when it arrived."""

    id: str
    event: dict[str, Any]
    at: float
    headers: dict[str, str]


@dataclass
class Receiver:
    """Records verified deliveries; refuses (401) any whose signature does not verify with one of `secrets`."""

    port: int = 0
    secrets: list[str] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where to send deliveries."""
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        """Listen (on the same port as before, if it ran before)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until started again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """Verify and record one request; the status to answer with."""
        for secret in self.secrets:
            try:
                event = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                self.received.append(Received(headers["webhook-id"], event, time.time(), headers))
            return self.status
        with self._lock:
            self.refused += 1
        return 401

    def unique(self) -> dict[str, dict[str, Any]]:
        """What arrived, de-duplicated by webhook-id (as a receiver should): id -> event."""
        with self._lock:
            return {r.id: r.event for r in self.received}

    def ids(self) -> list[str]:
        """Every webhook-id received, in arrival order, repeats included."""
        with self._lock:
            return [r.id for r in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the standard library's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: the test reads what arrived, not a line per request."""

    return Handler
