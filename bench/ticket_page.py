"""UI1: the ticket page of a ticket with a 500-event history, as a signed-in agent's browser asks for it.

One ticket is written through the application's commands to BENCH_UI1_EVENTS events (default 500):
public replies, internal notes, reassignments between two agents, priority changes and status moves,
in turn. `ledgerdesk serve` (one worker) answers on 127.0.0.1 with `ledgerdesk project` running; an
agent signs in through the form, and the page (`GET /t/{id}`: the ticket, its moves, SLA targets,
the conversation) and its history tab (`GET /t/{id}/history`: every event) are each asked for
BENCH_UI1_SAMPLES times over one keep-alive connection, after 20 warm-up requests. The time is
from sending the request to the last byte of the page, over loopback (about a millisecond more
than the server's own time; R1's `/healthz` floor).
"""

from __future__ import annotations

import re
import secrets
import statistics
import time
from typing import Any
from uuid import UUID

import httpx2 as httpx
import psycopg

from bench.server import project, scratch_database, serve, wait_projected
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from infrastructure.composition import build_services
from infrastructure.settings import Settings

WARMUP = 20
AGENT = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HOW: dict[str, Any] = {"by": AGENT, "via": "web", "tenant": "acme"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_ticket_page(conn: psycopg.Connection[Any], user: str, *, events: int, samples: int) -> list[dict[str, Any]]:
    """UI1: p50/p95/p99 milliseconds of the ticket page and of its history tab, for one ticket of `events` events."""
    with scratch_database(conn, user) as url:
        email, password = "ann@acme.example", secrets.token_urlsafe(18)
        services = build_services(Settings(database_url=url))
        try:
            services.create_user(
                email=email, password=password, actor_id="ann", role=Role.AGENT, tenant="acme", by=OPERATOR, via="cli"
            )
            ticket_id = _ticket(services.desk, events)
            version = services.desk.get_ticket(ticket_id).version
            with project(url):
                wait_projected(services)
                with serve(url, workers=1) as server:
                    rows = []
                    for name, path in (
                        ("ui1_ticket_page", f"/t/{ticket_id}"),
                        ("ui1_history", f"/t/{ticket_id}/history"),
                    ):
                        times = _time_page(server.base, email, password, path, samples)
                        cuts = statistics.quantiles(times, n=100, method="inclusive")
                        rows.append(
                            {
                                "name": name,
                                "events": version,
                                "samples": samples,
                                "p50_ms": round(cuts[49], 2),
                                "p95_ms": round(cuts[94], 2),
                                "p99_ms": round(cuts[98], 2),
                            }
                        )
                    return rows
        finally:
            services.close()


def _ticket(desk: HelpDesk, events: int) -> UUID:
    """A ticket of `events` events, written through the commands an agent's day makes."""
    ticket_id = desk.open_ticket(
        title="Printer on floor 3 jams", description="It jams on every job.", requester_id="cathy", **HOW
    ).ticket_id
    moves = ("open", "pending", "open")
    step = 0
    while desk.get_ticket(ticket_id).version < events:
        kind = step % 5
        if kind == 0:
            desk.add_comment(ticket_id, f"Reply {step}: please try again.", public=True, **HOW)
        elif kind == 1:
            desk.add_comment(ticket_id, f"Note {step}: the model is old.", public=False, **HOW)
        elif kind == 2:
            desk.assign(ticket_id, assignee="ann" if step % 2 else "bob", **HOW)
        elif kind == 3:
            desk.update_ticket(ticket_id, priority="high" if step % 2 else "normal", **HOW)
        else:
            target = moves[(step // 5) % len(moves)]
            if desk.get_ticket(ticket_id).status != target:
                desk.transition(ticket_id, target, **HOW)
        step += 1
    return ticket_id


def _time_page(
    base: str, email: str, password: str, path: str, samples: int, *, who: str = "ann", htmx: bool = False
) -> list[float]:
    """Milliseconds per page (`htmx`: per region) for a signed-in user (actor `who`); fails on any answer but 200."""
    headers = {"Accept": "text/html"}
    with httpx.Client(base_url=base, headers=headers, timeout=30, follow_redirects=True) as client:
        form = client.get("/login")
        token = TOKEN.search(form.text)
        if token is None:
            msg = "the sign-in page has no form token"
            raise RuntimeError(msg)
        signed = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
        if signed.status_code != 200 or who not in signed.text:
            msg = f"signing in answered {signed.status_code}"
            raise RuntimeError(msg)
        times = []
        for i in range(-WARMUP, samples):
            started = time.perf_counter()
            response = client.get(path, headers={"HX-Request": "true"} if htmx else None)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                msg = f"GET {path} answered {response.status_code}: {response.text[:200]}"
                raise RuntimeError(msg)
            if i >= 0:
                times.append(elapsed * 1000)
    return times
