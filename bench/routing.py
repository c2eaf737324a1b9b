"""RT1: routing delay, from a ticket's opening to its routed assignment showing in the read model, at a steady rate.

Method. On a fresh database, a tenant's directory has BENCH_RT1_AGENTS agents in one round-robin
group. `ledgerdesk worker --only projections,router` and `ledgerdesk serve --workers 1` run as in
production. An asyncio client opens tickets into the group open-loop at BENCH_RT1_RATE tickets/s
(ticket i is sent at start + i / rate whether or not earlier ones were answered) and notes when
each was sent and answered. Meanwhile a poller in a process of its own reads the serving read
model's ticket rows every POLL_SECONDS (`assignee IS NOT NULL AND position > <last seen>`) and
notes when each ticket first shows an agent. A ticket's routing delay is that moment minus its
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
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any
from uuid import UUID

import httpx2 as httpx
import psycopg

from bench.lag import MAX_CONNECTIONS, _cuts
from bench.seed import seeding_settings
from bench.server import make_key, scratch_database, serve, settle, wait_projected, worker
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services

TENANT = "acme"
GROUP = "dispatch"
POLL_SECONDS = 0.002
ADMIN = Actor("bench-admin", ActorKind.AGENT, role="admin")


def poll(url: str, table: str, stop: Event, out: Connection) -> None:
    """In a process of its own: note when each ticket first shows an assignee; send {ticket id: moment} when stopped."""
    seen: dict[str, float] = {}
    polls, last = 0, 0
    statement = f"SELECT ticket_id, position FROM {table} WHERE assignee IS NOT NULL AND position > %s"
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.monotonic()
        while not stop.is_set():
            rows = conn.execute(statement, [last], prepare=True).fetchall()
            now = time.monotonic()
            polls += 1
            for ticket_id, position in rows:
                seen.setdefault(str(ticket_id), now)
                last = max(last, position)
            time.sleep(POLL_SECONDS)
        interval = (time.monotonic() - began) / max(polls, 1)
    out.send((seen, interval))


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
                poller = context.Process(target=poll, args=(url, table, stop, sending), daemon=True)
                poller.start()
                time.sleep(1.0)  # the poller is up and polling
                opened = asyncio.run(_drive(server.base, key, rate=rate, seconds=seconds))
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


def _wait_routed(services: Any, expected: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not services.read_models.routing().waiting(TENANT, GROUP, 1) and services.read_models.position() >= (
            services.desk.recorder.max_notification_id() or 0
        ):
            return
        time.sleep(0.1)


async def _drive(base: str, key: str, *, rate: float, seconds: int) -> list[tuple[str, float, float]]:
    """Open tickets into the group on schedule; (ticket id or '' on failure, sent, answered) per ticket."""
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
    headers = {"Authorization": f"Bearer {key}"}
    opened: list[tuple[str, float, float]] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:

        async def one(i: int) -> None:
            sent = time.monotonic()
            body = {"title": f"Printer {i} jams", "requester_id": f"requester-{i % 500}", "group": GROUP}
            try:
                response = await client.post("/tickets", json=body)
            except httpx.HTTPError:
                opened.append(("", sent, time.monotonic()))
                return
            ok = response.status_code == 201
            opened.append((response.json()["id"] if ok else "", sent, time.monotonic()))

        tasks = []
        start = time.monotonic() + 0.2
        for i in range(int(rate * seconds)):
            pause = start + i / rate - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return opened


def _figures(
    opened: list[tuple[str, float, float]],
    seen: dict[str, float],
    interval: float,
    per_agent: Counter[str | None],
    *,
    rate: float,
    seconds: int,
    agents: int,
) -> dict[str, Any]:
    delays, end_to_end = [], []
    for ticket_id, sent, answered in opened:
        if ticket_id in seen:
            delays.append(max(0.0, seen[ticket_id] - answered) * 1000)
            end_to_end.append((seen[ticket_id] - sent) * 1000)
    span = max(a for _, _, a in opened) - min(s for _, s, _ in opened)
    return {
        "name": f"rt1_routing_delay_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(opened) / span, 1),
        "seconds": seconds,
        "agents": agents,
        "tickets": len(opened),
        "failed_openings": sum(1 for t, _, _ in opened if not t),
        "never_routed": sum(1 for t, _, _ in opened if t and t not in seen),
        "most_minus_fewest_per_agent": max(per_agent.values()) - min(per_agent.values()) if per_agent else 0,
        **_cuts(delays, "routing_delay"),
        **_cuts(end_to_end, "end_to_end"),
        **_cuts([(a - s) * 1000 for _, s, a in opened], "open"),
        "poll_interval_ms": round(interval * 1000, 2),
    }
