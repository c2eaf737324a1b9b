"""A real SMTP server on loopback (aiosmtpd) that records every message it accepts: the notifier's sink.

It answers 250 to every message, or a chosen refusal (`refuse_with`, e.g. "550 no such user") to
those for chosen addresses; it can be stopped and started again on the same port (an outage), and
can require AUTH with one user and password.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.processes import free_port


@dataclass(frozen=True)
class Received:
    """One accepted message, parsed, and when it arrived (time.time())."""

    message: EmailMessage
    to: tuple[str, ...]
    at: float

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None
        return str(body.get_content())  # type: ignore[attr-defined]


@dataclass
class _Handler:
    sink: SmtpSink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's name
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)  # a server that takes its time to answer
        refused = [r for r in envelope.rcpt_tos if r in self.sink.refuse]
        if refused:
            return self.sink.refuse[refused[0]]
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.sink.lock:
            self.sink.received.append(Received(parsed, tuple(envelope.rcpt_tos), time.time()))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class SmtpSink:
    """The server, and what it received so far."""

    port: int = field(default_factory=free_port)
    user: str | None = None
    password: str | None = None
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> the answer instead of 250
    delay: float = 0.0  # seconds before each answer to DATA
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"smtp://{auth}127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"auth_required": True, "auth_require_tls": False, "authenticator": self._authenticate}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.user,
            self.password,
        )
        return AuthResult(success=good, handled=False)

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.messages() if address in r.to]

    def ids(self) -> list[str]:
        return [r.message_id for r in self.messages()]
