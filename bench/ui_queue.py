"""UI2: the agents' queue page `/` (HTML) with BENCH_UI2_TICKETS (10,000) open tickets in the agent's tenant.

A fresh database gets that many unsolved tickets of one tenant with their real histories
(bench/seed.py's `build_ticket`, only the numbers whose ticket is of tenant acme and not solved),
the real projection worker brings the read model to the log's head, and `ledgerdesk serve` (one
worker) answers a signed-in agent's queue page, one request at a time on one keep-alive
connection: each queue (mine, my groups, unassigned, SLA at risk) and the groups queue with a
filter or a search, rotating. Each page is the whole HTML page (the session looked up, the saved
views listed, up to 100 rows rendered with their SLA countdown). The same pages' reads are also
timed in process (`read_queue`: the read-model query and the countdowns, no HTTP, no template),
and `GET /healthz` over HTTP, to tell the database's share, the page's and the HTTP floor apart.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx2 as httpx
import psycopg

from api.web.queue_page import choice_from, read_queue
from bench.reads import PROJECTION_BATCH, WARMUP, _percentiles, _progress
from bench.seed import seed_selected, seeding_settings
from bench.server import scratch_database, serve, settle
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.keys import Principal
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings

TENANT = "acme"
AGENT = "agent-0"  # of acme: seeded tickets 0, 42, 84, ... are assigned to it
EMAIL = "agent-0@acme.example"
OPERATOR = Actor("bench", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
#: The pages timed, in rotation: each queue, then the groups queue narrowed by a filter or a search.
PAGES = (
    "queue=mine",
    "queue=groups",
    "queue=unassigned",
    "queue=at_risk",
    "queue=groups&priority=urgent",
    "queue=groups&tag=vpn",
    "queue=groups&q=request+12",
)


def open_in_tenant(index: int) -> bool:
    """Whether seeded ticket `index` is of tenant acme (index % 3 == 0) and stays unsolved (index % 5 in 1, 3)."""
    return index % 3 == 0 and index % 5 in {1, 3}


def bench_queue_page(conn: psycopg.Connection[Any], user: str, *, tickets: int, samples: int) -> list[dict[str, Any]]:
    """UI2 at `tickets` open tickets of the agent's tenant."""
    with scratch_database(conn, user) as url:
        return _run(url, tickets, samples)


def _run(url: str, tickets: int, samples: int) -> list[dict[str, Any]]:
    password = secrets.token_urlsafe(18)
    seeding = build_services(seeding_settings(url))
    try:
        indices = (i for i in range(tickets * 8) if open_in_tenant(i))
        seeded = seed_selected(seeding.desk, indices, tickets, progress=_progress("seeding open tickets"))
        seeding.create_user(
            email=EMAIL, password=password, actor_id=AGENT, role=Role.AGENT, tenant=TENANT, by=OPERATOR, via="cli"
        )
    finally:
        seeding.close()
    settle(url)
    services = build_services(Settings(database_url=url, db_pool_max=5, pool_size=2))
    try:
        worker = ProjectionWorker(services.desk, services.read_models, batch_size=PROJECTION_BATCH)
        worker.catch_up(_progress("projecting events"))
        settle(url)
        agent = services.users.find(EMAIL)
        assert agent is not None
        in_process = _time_in_process(services, agent.principal, samples)
        with serve(url, workers=1) as server:
            pages = _time_pages(server.base, password, samples)
            with httpx.Client(base_url=server.base, timeout=30) as client:
                floor = _time(lambda _: client.get("/healthz"), samples)
    finally:
        services.close()
    common = {"tickets": tickets, "events": seeded.events, "samples": samples}
    return [
        {"name": f"ui2_queue_page_{tickets}_open_tickets", **common, "pages": list(PAGES), **pages, **in_process},
        {"name": f"ui2_floor_healthz_{tickets}_open_tickets", **common, **_percentiles(floor, "http")},
    ]


def _time(call: Callable[[int], Any], samples: int) -> list[float]:
    times = []
    for i in range(-WARMUP, samples):
        started = time.perf_counter()
        call(i)
        if i >= 0:
            times.append((time.perf_counter() - started) * 1000)
    return times


def _time_in_process(services: Services, principal: Principal, samples: int) -> dict[str, float]:
    choices = [choice_from(dict(parse_qsl(page))) for page in PAGES]
    times = _time(lambda i: read_queue(services, principal, choices[i % len(choices)], "en"), samples)
    return _percentiles(times, "read")


def _time_pages(base: str, password: str, samples: int) -> dict[str, Any]:
    """Sign in through the form, then time the pages in rotation; fails on any answer but 200 or an empty page."""
    with httpx.Client(base_url=base, timeout=30, headers=HTML) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, "no form token on the sign-in page"
        fields = {"email": EMAIL, "password": password, "csrf_token": token.group(1)}
        signed = client.post("/login", data=fields)
        assert signed.status_code == 303, f"sign-in answered {signed.status_code}"
        rows: list[int] = []

        def get(i: int) -> None:
            page = client.get(f"/?{PAGES[i % len(PAGES)]}")
            if page.status_code != 200:
                msg = f"GET /?{PAGES[i % len(PAGES)]} answered {page.status_code}: {page.text[:200]}"
                raise RuntimeError(msg)
            if 0 <= i < len(PAGES):
                rows.append(page.text.count("<tr data-ticket="))

        times = _time(get, samples)
    if not rows[0] or not rows[1]:
        msg = f"the agent's queues came back empty ({rows}): the seeded data is not what UI2 expects"
        raise RuntimeError(msg)
    by_page = {page: sorted(times[i :: len(PAGES)]) for i, page in enumerate(PAGES)}
    return {
        **_percentiles(times, "http"),
        "rows_per_page": rows,
        "http_p95_ms_by_page": {page: _percentiles(t, "http")["http_p95_ms"] for page, t in by_page.items()},
    }
