"""RT1: routing delay, from a ticket's opening to its routed assignment showing in the read model, at a steady rate.

Method. On a fresh database, a tenant's directory has BENCH_RT1_AGENTS agents in one round-robin
group. `ledgerdesk worker --only projections,router` and `ledgerdesk serve --workers 1` run as in
production. An asyncio client opens tickets into the group open-loop at BENCH_RT1_RATE tickets/s
and notes when each was sent and answered; a poller notes when each ticket first shows an agent
in the serving read model (bench/open_loop.py). A ticket's routing delay is that moment minus its
opening's answer (the opening event is stored by then); its end-to-end time that moment minus
the moment it was sent. Both processes read the same monotonic clock; the poll interval
(reported) bounds the error. The delay covers: the projection of the opening, the router noticing
the read model moved, its sweep and save, and the projection of the assignment.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from typing import Any
from uuid import UUID

import psycopg

from bench.open_loop import Opened, delay_figures, drive, poll
from bench.seed import seeding_settings
from bench.server import make_key, scratch_database, serve, settle, wait_projected, worker
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services

TENANT = "acme"
GROUP = "dispatch"
ADMIN = Actor("bench-admin", ActorKind.AGENT, role="admin")


def bench_routing(
    conn: psycopg.Connection[Any], user: str, *, rate: float, seconds: int, agents: int
) -> dict[str, Any]:
    """RT1 at `rate` tickets/s for `seconds`, into a round-robin group of `agents`."""
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url))
        try:
            names = [f"agent-{n}" for n in range(agents)]
            for name in names:
                services.desk.define_agent(
                    tenant=TENANT, agent=name, groups=[], skills={}, capacity=1000, available=True, by=ADMIN, via="api"
                )
            services.desk.define_group(
                tenant=TENANT, name=GROUP, members=names, routing="round_robin", by=ADMIN, via="api"
            )
            key = make_key(services, tenant=TENANT)
            settle(url)
            table = services.read_models.active_view().names.tickets
            with worker(url, "projections,router"), serve(url, workers=1) as server:
                wait_projected(services, timeout=60)
                context = multiprocessing.get_context("spawn")
                stop = context.Event()
                receiving, sending = context.Pipe(duplex=False)
                poller = context.Process(
                    target=poll, args=(url, table, "assignee IS NOT NULL", stop, sending), daemon=True
                )
                poller.start()
                time.sleep(1.0)  # the poller is up and polling
                opened = asyncio.run(drive(server.base, key, rate=rate, seconds=seconds, body=_opening))
                _wait_routed(services, len(opened))
                time.sleep(0.1)
                stop.set()
                seen, interval = receiving.recv()
                poller.join(timeout=10)
                per_agent = Counter(
                    services.desk.get_ticket(UUID(ticket_id)).assignee for ticket_id, _, _ in opened if ticket_id
                )
        finally:
            services.close()
    return _figures(opened, seen, interval, per_agent, rate=rate, seconds=seconds, agents=agents)


def _opening(i: int) -> dict[str, Any]:
    return {"title": f"Printer {i} jams", "requester_id": f"requester-{i % 500}", "group": GROUP}


def _wait_routed(services: Any, expected: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not services.read_models.routing().waiting(TENANT, GROUP, 1) and services.read_models.position() >= (
            services.desk.recorder.max_notification_id() or 0
        ):
            return
        time.sleep(0.1)


def _figures(
    opened: Opened,
    seen: dict[str, float],
    interval: float,
    per_agent: Counter[str | None],
    *,
    rate: float,
    seconds: int,
    agents: int,
) -> dict[str, Any]:
    figures = delay_figures(opened, seen, interval, delay="routing_delay")
    return {
        "name": f"rt1_routing_delay_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "seconds": seconds,
        "agents": agents,
        "never_routed": figures.pop("never_seen"),
        "most_minus_fewest_per_agent": max(per_agent.values()) - min(per_agent.values()) if per_agent else 0,
        **figures,
    }
