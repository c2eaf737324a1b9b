"""NT1: notification delay, from an agent's public reply (committed) to its e-mail accepted by an SMTP server.

Method. On a fresh database, tickets are opened beforehand (each for its own requester with an
e-mail address). `ledgerdesk worker --only notifications` (LEDGERDESK_SMTP_URL pointing at an
aiosmtpd server in a thread of the bench process, which notes when each Message-ID arrived) and
`ledgerdesk serve --workers 1` run as in production. An asyncio client posts a public reply to
ticket i at start + i / BENCH_NT1_RATE (open loop, bench/open_loop.py) and notes when each was
answered: its event is committed by then. A notification's delay is its arrival at the server
minus that answer (both on this process's monotonic clock); it covers the notifier's wake-up on
LISTEN, the enqueue, the claim, reading the ticket, the directory and the templates, rendering,
and the SMTP exchange (one connection per message).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes
from typing import Any
from uuid import UUID

import psycopg
from aiosmtpd.controller import Controller

from bench.lag import _cuts
from bench.open_loop import drive
from bench.seed import seeding_settings
from bench.server import make_key, scratch_database, serve, settle, worker
from domain.actors import Actor, ActorKind
from domain.mail.threads import tickets_referenced
from infrastructure.composition import build_services

TENANT = "acme"
AGENT = Actor("bench", ActorKind.AGENT, role="agent")


class Sink:
    """An SMTP server on loopback noting when each message arrived: ticket id -> first arrival; repeats."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.repeats = 0
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        with socket.socket() as probe:  # a free loopback port (aiosmtpd checks the port it was given answers)
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's name
        arrived = time.monotonic()
        message = message_from_bytes(envelope.content)
        message_id = str(message["Message-ID"])
        (ticket_id,) = tickets_referenced([message_id])
        with self.lock:
            if message_id in self.seen:
                self.repeats += 1
            self.seen.add(message_id)
            self.first.setdefault(str(ticket_id), arrived)
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def bench_notify(conn: psycopg.Connection[Any], user: str, *, rate: float, seconds: int) -> dict[str, Any]:
    """NT1 at `rate` replies/s for `seconds`."""
    count = int(rate * seconds)
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url))
        try:
            key = make_key(services, tenant=TENANT)
            tickets = [
                services.desk.open_ticket(
                    tenant=TENANT,
                    title=f"Mail {i}",
                    requester_id=f"r-{i}",
                    requester_email=f"r-{i}@customer.test",
                    by=AGENT,
                    via="api",
                ).ticket_id
                for i in range(count)
            ]
            sink = Sink()
            sink.controller.start()
            settle(url)
            env = {"LEDGERDESK_SMTP_URL": sink.url, "LEDGERDESK_MAIL_FROM": "help@desk.test"}
            with worker(url, "notifications", env=env), serve(url, workers=1) as api:
                time.sleep(2.0)  # the worker holds the lease and has read the openings (nobody is told of those)
                replies = asyncio.run(
                    drive(
                        api.base,
                        key,
                        rate=rate,
                        seconds=seconds,
                        body=lambda i: {"body": f"Answer {i}", "public": True},
                        path=lambda i: f"/tickets/{tickets[i]}/comments",
                    )
                )
                _wait_arrived(sink, sum(1 for t, _, _ in replies if t), timeout=60)
            sink.controller.stop()
        finally:
            services.close()
    return _figures(replies, sink, rate=rate, seconds=seconds, tickets=tickets)


def _wait_arrived(sink: Sink, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(sink.first) < expected:
        time.sleep(0.05)


def _figures(
    replies: list[tuple[str, float, float]], sink: Sink, *, rate: float, seconds: int, tickets: list[UUID]
) -> dict[str, Any]:
    arrived = dict(sink.first)
    delays = [(arrived[t] - answered) * 1000 for t, _, answered in replies if t in arrived]
    first_sent = min(s for _, s, _ in replies)
    last_arrival = max(arrived.values(), default=first_sent)
    span = max(a for _, _, a in replies) - first_sent
    return {
        "name": f"nt1_notification_delay_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(replies) / span, 1),
        "seconds": seconds,
        "replies": len(replies),
        "failed_replies": sum(1 for t, _, _ in replies if not t),
        "delivered": len(arrived),
        "never_delivered": sum(1 for t, _, _ in replies if t and t not in arrived),
        "repeats": sink.repeats,
        "messages_per_s": round(len(arrived) / max(last_arrival - first_sent, 1e-9), 1),
        **_cuts(delays, "delay"),
        "delay_max_ms": round(max(delays), 1) if delays else None,
        **_cuts([(a - s) * 1000 for _, s, a in replies], "reply"),
        "tickets_opened_beforehand": len(tickets),
    }
