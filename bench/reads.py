"""R1: the read path (queue pages and ticket searches) at BENCH_TICKETS tickets, and the projection that builds it.

Per size, a fresh database gets that many tickets with real histories (bench/seed.py, about five
events each), the real projection worker brings the serving read model from zero to the log's head
(with the production settings, timed: catch-up at scale), then `ledgerdesk serve` (one worker)
answers the first page (limit 50) of each query below, one request at a time on one keep-alive
connection, parameters rotating over the tenant's groups, agents, tags and requesters. The same
queries are also timed in-process straight against the read model, each page with the position it
was read at, as the API reads them (no HTTP, no auth, no JSON), and `GET /healthz` over HTTP (no
authentication, no database), to tell the database's share, the API's and the HTTP floor apart.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
import psycopg

from bench.seed import GROUPS, TAG_SETS, seed_tickets, seeding_settings
from bench.server import RESULTS, Server, make_key, scratch_database, serve, settle
from bench.write_mix import py_spy, summarize_profile
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings
from projections.tickets.queries import Sort, TicketFilter
from projections.tickets.rows import UNSOLVED

TENANT = "acme"  # tickets 0, 3, 6, ...: its agents and requesters have numbers divisible by 3
WARMUP = 20
PAGE = 50
TAGS = sorted({tag for tags in TAG_SETS for tag in tags})
PROJECTION_BATCH = 5000  # what `ledgerdesk rebuild` uses

# name -> (URL for the i-th request, the same query as a read-model filter and sort)
Query = tuple[Callable[[int], str], Callable[[int], tuple[TicketFilter, Sort]]]


def _group(i: int) -> str:
    return GROUPS[i % len(GROUPS)]


def _agent(i: int) -> str:
    return f"agent-{3 * (i % 14)}"


def _requester(i: int) -> str:
    return f"requester-{3 * ((i * 37) % 1600)}"


def _tag(i: int) -> str:
    return TAGS[i % len(TAGS)]


QUERIES: dict[str, Query] = {
    "queue_group": (
        lambda i: f"/queues/groups/{_group(i)}",
        lambda i: (TicketFilter(TENANT, categories=UNSOLVED, group=_group(i)), Sort.PRIORITY),
    ),
    "queue_assignee": (
        lambda i: f"/queues/assignees/{_agent(i)}",
        lambda i: (TicketFilter(TENANT, categories=UNSOLVED, assignee=_agent(i)), Sort.PRIORITY),
    ),
    "list_open_newest": (
        lambda i: "/tickets?status=open",
        lambda i: (TicketFilter(TENANT, statuses=("open",)), Sort.NEWEST),
    ),
    "search_tag": (
        lambda i: f"/tickets?tag={_tag(i)}",
        lambda i: (TicketFilter(TENANT, tags=(_tag(i),)), Sort.NEWEST),
    ),
    "search_assignee": (
        lambda i: f"/tickets?assignee={_agent(i)}",
        lambda i: (TicketFilter(TENANT, assignee=_agent(i)), Sort.NEWEST),
    ),
    "search_requester": (
        lambda i: f"/tickets?requester_id={_requester(i)}",
        lambda i: (TicketFilter(TENANT, requester_id=_requester(i)), Sort.NEWEST),
    ),
}


def bench_reads(
    conn: psycopg.Connection[Any], user: str, *, sizes: list[int], samples: int, profile: bool = False
) -> list[dict[str, Any]]:
    """R1 (and the catch-up that builds its read model) for each number of tickets."""
    results: list[dict[str, Any]] = []
    for size in sizes:
        with scratch_database(conn, user) as url:
            results += _one_size(url, size, samples, profile=profile)
    return results


def _one_size(url: str, size: int, samples: int, *, profile: bool) -> list[dict[str, Any]]:
    seeding = build_services(seeding_settings(url))
    try:
        seeded = seed_tickets(seeding.desk, size, progress=_progress("seeding tickets"))
        key = make_key(seeding, tenant=TENANT)
    finally:
        seeding.close()
    settle(url)
    services = build_services(Settings(database_url=url, db_pool_max=5, pool_size=2))
    try:
        worker = ProjectionWorker(services.desk, services.read_models, batch_size=PROJECTION_BATCH)
        started = time.perf_counter()
        position = worker.catch_up(_progress("projecting events"))
        projected = time.perf_counter() - started
        settle(url)
        rows = [
            {
                "name": f"r1_seed_{size}_tickets",
                "tickets": size,
                "events": seeded.events,
                "seconds": round(seeded.seconds, 1),
                "events_per_s": round(seeded.events_per_s, 1),
            },
            {
                "name": f"r1_project_{size}_tickets",
                "tickets": size,
                "events": position,
                "batch_size": PROJECTION_BATCH,
                "seconds": round(projected, 1),
                "events_per_s": round(position / projected, 1),
            },
        ]
        sql_times = {name: _time_sql(services, query[1], samples) for name, query in QUERIES.items()}
        with serve(url, workers=1) as server, _sampled(server, f"r1_{size}_tickets", profile) as where:
            http_times = {name: _time_http(server.base, key, query[0], samples) for name, query in QUERIES.items()}
            floor = _time_http(server.base, key, lambda _: "/healthz", samples)
    finally:
        services.close()
    rows.append(
        {
            "name": f"r1_floor_healthz_{size}_tickets",
            "tickets": size,
            "query": "/healthz (no authentication, no database: the HTTP floor)",
            "samples": samples,
            **_percentiles(floor, "http"),
            **({"profile": where} if where else {}),
        }
    )
    for name in QUERIES:
        rows.append(
            {
                "name": f"r1_{name}_{size}_tickets",
                "tickets": size,
                "query": QUERIES[name][0](0),
                "samples": samples,
                **_percentiles(http_times[name], "http"),
                **_percentiles(sql_times[name], "sql"),
                "target_p95_ms": 10.0,
            }
        )
    return rows


# Where an API worker's time goes while it answers list requests (BENCH_PYSPY=1).
READ_NEEDLES = (
    ("authenticate the API key", "SqlKeyStore.authenticate"),
    ("read model position (read-your-writes header)", "ReadModels.position"),
    ("the page query", "TicketQueries.list_tickets"),
    ("summaries (TicketSummary) and JSON", "TicketSummary"),
    ("serialising the response", "serialize_response"),
    ("waiting on PostgreSQL", "Connection.wait (psycopg/"),
    ("Starlette/FastAPI/uvicorn machinery", "starlette/"),
)


@contextmanager
def _sampled(server: Server, name: str, profile: bool) -> Iterator[dict[str, Any]]:
    """With `profile`, py-spy samples the server's worker while the block runs; the summary lands in the dict."""
    where: dict[str, Any] = {}
    spy = py_spy() if profile else None
    if spy is None:
        yield where
        return
    out = RESULTS / f"{name}.collapsed.txt"
    (pid,) = server.worker_pids()
    sampler = subprocess.Popen(
        [spy, "record", "-p", str(pid), "-r", "97", "-f", "raw", "-o", str(out), "--threads"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    try:
        yield where
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
        if out.exists():
            where.update(summarize_profile([out], needles=READ_NEEDLES))


def _time_http(base: str, key: str, url: Callable[[int], str], samples: int) -> list[float]:
    """Milliseconds per request; fails on any answer but 200, or on a list that comes back empty."""
    times = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(-WARMUP, samples):
            started = time.perf_counter()
            response = client.get(url(i), params={"limit": PAGE})
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                msg = f"GET {url(i)} answered {response.status_code}: {response.text[:200]}"
                raise RuntimeError(msg)
            if i == 0 and "items" in (body := response.json()) and not body["items"]:
                msg = f"GET {url(i)} found nothing: the seeded data or the caller's visibility is not what R1 expects"
                raise RuntimeError(msg)
            if i >= 0:
                times.append(elapsed * 1000)
    return times


def _time_sql(services: Services, query: Callable[[int], tuple[TicketFilter, Sort]], samples: int) -> list[float]:
    times = []
    for i in range(-WARMUP, samples):
        where, sort = query(i)
        started = time.perf_counter()
        services.read_models.ticket_page(where, sort=sort, limit=PAGE)  # as the API reads it: with its position
        if i >= 0:
            times.append((time.perf_counter() - started) * 1000)
    return times


def _percentiles(times: list[float], prefix: str) -> dict[str, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {f"{prefix}_p50_ms": round(cuts[49], 2), f"{prefix}_p95_ms": round(cuts[94], 2)}


def _progress(what: str) -> Callable[[int, int], None]:
    state = {"shown": 0.0}

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - state["shown"] >= 30 or done >= total:
            state["shown"] = now
            print(f"bench: {what}: {done:,} of {total:,}", file=sys.stderr, flush=True)

    return show
