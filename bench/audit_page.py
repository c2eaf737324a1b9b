"""AU1: an auditor's timeline of a ticket with a 2,000-event history, as a signed-in browser asks for it.

One ticket is written through the application's commands to BENCH_AU1_EVENTS events (default 2,000),
as UI1 writes its ticket (bench/ticket_page.py). `ledgerdesk serve` (one worker) answers on 127.0.0.1
with `ledgerdesk project` running; an auditor signs in through the form and asks BENCH_AU1_SAMPLES times
each, after 20 warm-up requests, over one keep-alive connection:

- `au1_timeline`: the whole page `/audit/tickets/{id}` (its first 200 events with their chain rows, the
  ticket as it is now, the forms);
- `au1_next_events`: the last page of events (`?part=events&after=...`, as "Load the next events" asks);
- `au1_version`: the ticket as it was at version 10 (`?part=past&version=10`, as the slider asks);
- `au1_moment`: the ticket as it was at the moment of its middle version (`?part=past&at=...`, the time picker);
- `au1_diff`: the diff of versions 1 and the latest (`?part=diff`).

The time is from sending the request to the last byte, over loopback, as UI1's.
"""

from __future__ import annotations

import secrets
import statistics
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from api.web.audit_view import PAGE_SIZE
from bench.server import project, scratch_database, serve, wait_projected
from bench.ticket_page import OPERATOR, _ticket, _time_page
from domain.access.policy import Role
from infrastructure.composition import build_services
from infrastructure.settings import Settings

ZONE = "Europe/Berlin"


def bench_audit_page(conn: psycopg.Connection[Any], user: str, *, events: int, samples: int) -> list[dict[str, Any]]:
    """AU1: p50/p95/p99 milliseconds of the timeline page and its regions, for one ticket of `events` events."""
    with scratch_database(conn, user) as url:
        email, password = "audrey@acme.example", secrets.token_urlsafe(18)
        services = build_services(Settings(database_url=url))
        try:
            services.create_user(
                email=email,
                password=password,
                actor_id="audrey",
                role=Role.AUDITOR,
                tenant="acme",
                time_zone=ZONE,
                by=OPERATOR,
                via="cli",
            )
            ticket_id = _ticket(services.desk, events)
            version = services.desk.get_ticket(ticket_id).version
            middle = services.desk.ticket_at_version(ticket_id, version // 2).modified_on
            moment = middle.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None, microsecond=0).isoformat()
            last_page = (version - 1) // PAGE_SIZE * PAGE_SIZE
            page = f"/audit/tickets/{ticket_id}"
            asks = (
                ("au1_timeline", page),
                ("au1_next_events", f"{page}?part=events&after={last_page}"),
                ("au1_version", f"{page}?part=past&version=10"),
                ("au1_moment", f"{page}?part=past&at={moment}"),
                ("au1_diff", f"{page}?part=diff&from_version=1&to_version={version}"),
            )
            with project(url):
                wait_projected(services)
                with serve(url, workers=1) as server:
                    return [
                        _row(name, version, _time(server.base, email, password, path, samples)) for name, path in asks
                    ]
        finally:
            services.close()


def _time(base: str, email: str, password: str, path: str, samples: int) -> list[float]:
    return _time_page(base, email, password, path, samples, who="audrey", htmx="part=" in path)


def _row(name: str, events: int, times: list[float]) -> dict[str, Any]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "name": name,
        "events": events,
        "samples": len(times),
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
    }
