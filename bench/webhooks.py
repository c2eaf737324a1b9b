"""WH1: webhook delivery, from a ticket's opening (committed) to its signed delivery arriving at a receiver.

Method. On a fresh database, one endpoint of the tenant takes `Ticket.Opened` and points at a
receiver on 127.0.0.1 (an HTTP server in a thread of the bench process that verifies every
delivery with the `standardwebhooks` package, answers 204 and notes when each arrived).
`ledgerdesk worker --only projections,webhooks` and `ledgerdesk serve --workers 1` run as in
production (the allowlist lets deliveries reach loopback). An asyncio client opens tickets
open-loop at BENCH_WH1_RATE tickets/s (ticket i is sent at start + i / rate) and notes when each
opening was answered: the event is committed by then. A ticket's delay is its delivery's
arrival minus that answer (both read from this process's monotonic clock); throughput is the
deliveries received over the span from the first sending to the last arrival. The delay covers
the projection of the opening (the feed, which deliveries follow, reads as far as the read models
have applied), the enqueue, the claim, the signature, and the HTTP request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from standardwebhooks import Webhook

from bench.lag import _cuts
from bench.open_loop import drive
from bench.seed import seeding_settings
from bench.server import make_key, scratch_database, serve, settle, wait_projected, worker
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services

TENANT = "acme"
ADMIN = Actor("bench-admin", ActorKind.AGENT, role="admin")
WORKER_ENV = {"LEDGERDESK_WEBHOOK_ALLOWLIST": "127.0.0.0/8", "LEDGERDESK_WEBHOOK_CONCURRENCY": "8"}


class Arrivals:
    """What the receiver took: webhook-id -> (ticket id, arrival moment); repeats and refusals counted."""

    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.first: dict[str, tuple[str, float]] = {}
        self.repeats = 0
        self.refused = 0
        self.lock = threading.Lock()

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """Verify and note one delivery; the status to answer."""
        arrived = time.monotonic()
        try:
            event = self.webhook.verify(body, headers)
        except Exception:  # any verification failure is a refusal, counted
            with self.lock:
                self.refused += 1
            return 401
        with self.lock:
            if headers["webhook-id"] in self.first:
                self.repeats += 1
            else:
                self.first[headers["webhook-id"]] = (str(event["ticket_id"]), arrived)
        return 204


def receive(arrivals: Arrivals) -> ThreadingHTTPServer:
    """Start the receiver on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = arrivals.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: a line per delivery would time the terminal, not the deliveries."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bench_webhooks(conn: psycopg.Connection[Any], user: str, *, rate: float, seconds: int) -> dict[str, Any]:
    """WH1 at `rate` tickets/s for `seconds`."""
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url).model_copy(update={"webhook_allowlist": "127.0.0.0/8"}))
        try:
            key = make_key(services, tenant=TENANT)
            placeholder = services.webhook_admin().register(
                tenant=TENANT,
                url="http://127.0.0.1:9/hook",  # replaced below, once the receiver has its port
                description="WH1 receiver",
                event_types=["Ticket.Opened"],
                filter=None,
                by=ADMIN,
                via="api",
            )
            arrivals = Arrivals(placeholder.secret)
            server = receive(arrivals)
            services.webhook_admin().change(
                tenant=TENANT,
                endpoint_id=placeholder.receipt.endpoint.id,
                url=f"http://127.0.0.1:{server.server_address[1]}/hook",
                by=ADMIN,
                via="api",
            )
            settle(url)
            with worker(url, "projections,webhooks", env=WORKER_ENV), serve(url, workers=1) as api:
                wait_projected(services, timeout=60)
                time.sleep(1.0)  # the worker holds the webhook lease and is waiting for news
                opened = asyncio.run(drive(api.base, key, rate=rate, seconds=seconds, body=_opening))
                _wait_delivered(arrivals, sum(1 for t, _, _ in opened if t), timeout=60)
            server.shutdown()
        finally:
            services.close()
    return _figures(opened, arrivals, rate=rate, seconds=seconds)


def _wait_delivered(arrivals: Arrivals, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(arrivals.first) < expected:
        time.sleep(0.05)


def _opening(i: int) -> dict[str, Any]:
    return {"title": f"Hook {i}", "requester_id": f"r-{i % 500}"}


def _figures(
    opened: list[tuple[str, float, float]], arrivals: Arrivals, *, rate: float, seconds: int
) -> dict[str, Any]:
    arrived = dict(arrivals.first.values())
    delays = [(arrived[t] - answered) * 1000 for t, _, answered in opened if t in arrived]
    first_sent = min(s for _, s, _ in opened)
    last_arrival = max(arrived.values(), default=first_sent)
    span = max(a for _, _, a in opened) - first_sent
    return {
        "name": f"wh1_webhook_delay_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(opened) / span, 1),
        "seconds": seconds,
        "tickets": len(opened),
        "failed_openings": sum(1 for t, _, _ in opened if not t),
        "delivered": len(arrived),
        "never_delivered": sum(1 for t, _, _ in opened if t and t not in arrived),
        "repeats": arrivals.repeats,
        "refused_signatures": arrivals.refused,
        "deliveries_per_s": round(len(arrived) / max(last_arrival - first_sent, 1e-9), 1),
        **_cuts(delays, "delay"),
        "delay_max_ms": round(max(delays), 1) if delays else None,
        **_cuts([(a - s) * 1000 for _, s, a in opened], "open"),
    }
