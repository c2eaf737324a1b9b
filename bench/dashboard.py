"""UI3: the supervisors' dashboard `/dashboard` (HTML, signed in) with BENCH_UI3_TICKETS (100,000) tickets in the
supervisor's tenant, on PostgreSQL.

A fresh database gets that many tickets of one tenant with their real histories (bench/seed.py's
`build_ticket`, only the numbers whose ticket is of tenant acme: opened, assigned, answered, most
solved; spread over the 45 days from 2026-01-05), the real projection worker brings the read models
to the log's head, and `ledgerdesk serve` (one worker) answers a signed-in supervisor's dashboard
over the seeded period, one request at a time on one keep-alive connection: the whole tenant, then
one group, in rotation. Each answer is the whole page: seven charts, each read through its report
query. The charts are also timed one by one in process (the query and the layout, no HTTP, no
template), which tells a slow report query from the page's own cost.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qsl

import httpx2 as httpx
import psycopg

from api.web.dashboard import filters_from, reading
from api.web.dashboard_charts import CHART_NAMES, READERS
from bench.reads import PROJECTION_BATCH, _percentiles, _progress
from bench.seed import seed_selected, seeding_settings
from bench.server import scratch_database, serve, settle
from bench.ui_queue import _time
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.keys import Principal
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings

TENANT = "acme"
EMAIL = "supervisor@acme.example"
OPERATOR = Actor("bench", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
#: The seeded period (bench/seed.py: 15 s apart from 2026-01-05, a third of them acme's) and one group.
PERIOD = "from=2026-01-05&to=2026-02-18"
PAGES = (PERIOD, f"{PERIOD}&group=it")


def in_tenant(index: int) -> bool:
    """Whether seeded ticket `index` is of tenant acme."""
    return index % 3 == 0


def bench_dashboard(conn: psycopg.Connection[Any], user: str, *, tickets: int, samples: int) -> list[dict[str, Any]]:
    """UI3 at `tickets` tickets of the supervisor's tenant."""
    with scratch_database(conn, user) as url:
        return _run(url, tickets, samples)


def _run(url: str, tickets: int, samples: int) -> list[dict[str, Any]]:
    password = secrets.token_urlsafe(18)
    seeding = build_services(seeding_settings(url))
    try:
        indices = (i for i in range(tickets * 3) if in_tenant(i))
        seeded = seed_selected(seeding.desk, indices, tickets, progress=_progress("seeding tickets"))
        seeding.create_user(
            email=EMAIL, password=password, actor_id="sue", role=Role.SUPERVISOR, tenant=TENANT, by=OPERATOR, via="cli"
        )
    finally:
        seeding.close()
    settle(url)
    services = build_services(Settings(database_url=url, db_pool_max=5, pool_size=2))
    try:
        worker = ProjectionWorker(services.desk, services.read_models, batch_size=PROJECTION_BATCH)
        worker.catch_up(_progress("projecting events"))
        settle(url)
        supervisor = services.users.find(EMAIL)
        assert supervisor is not None
        charts = _time_charts(services, supervisor.principal, samples)
        with serve(url, workers=1) as server:
            pages = _time_pages(server.base, password, samples)
    finally:
        services.close()
    common = {"tickets": tickets, "events": seeded.events, "samples": samples, "pages": list(PAGES)}
    return [{"name": f"ui3_dashboard_{tickets}_tickets", **common, **pages, "read_p95_ms_by_chart": charts}]


def _time_charts(services: Services, principal: Principal, samples: int) -> dict[str, float]:
    """Each chart's read in process, over the whole tenant: its p95 in ms."""
    chosen = reading(services, principal, filters_from(dict(parse_qsl(PERIOD))))
    found = {}
    for name in CHART_NAMES:
        chart = READERS[name]
        times = _time(lambda _, chart=chart: chart(services, chosen), max(samples // 4, 20))  # type: ignore[misc]
        found[name] = _percentiles(times, "read")["read_p95_ms"]
    return found


def _time_pages(base: str, password: str, samples: int) -> dict[str, Any]:
    """Sign in through the form, then time the pages in rotation; fails on any answer but 200 or a page without data."""
    with httpx.Client(base_url=base, timeout=60, headers=HTML) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, "no form token on the sign-in page"
        signed = client.post("/login", data={"email": EMAIL, "password": password, "csrf_token": token.group(1)})
        assert signed.status_code == 303, f"sign-in answered {signed.status_code}"
        drawn: list[int] = []

        def get(i: int) -> None:
            page = client.get(f"/dashboard?{PAGES[i % len(PAGES)]}")
            if page.status_code != 200:
                msg = f"GET /dashboard?{PAGES[i % len(PAGES)]} answered {page.status_code}: {page.text[:200]}"
                raise RuntimeError(msg)
            if 0 <= i < len(PAGES):
                drawn.append(page.text.count("<rect "))

        times = _time(get, samples)
    if not all(drawn):
        msg = f"the dashboard drew no bars ({drawn}): the seeded data is not what UI3 expects"
        raise RuntimeError(msg)
    by_page = {page: sorted(times[i :: len(PAGES)]) for i, page in enumerate(PAGES)}
    return {
        **_percentiles(times, "http"),
        "bars_per_page": drawn,
        "http_p95_ms_by_page": {page: _percentiles(t, "http")["http_p95_ms"] for page, t in by_page.items()},
    }
