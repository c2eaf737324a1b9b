"""TR1: trigger delay, from a ticket's opening to its trigger's change showing in the read model, at a steady rate.

Method. On a fresh database, a tenant has one trigger: on `created`, always, add the tag `seen`.
`ledgerdesk worker --only projections,triggers` and `ledgerdesk serve --workers 1` run as in
production. An asyncio client opens tickets open-loop at BENCH_TR1_RATE tickets/s and notes when
each was sent and answered; a poller notes when each ticket's row first shows version 3 (the
opening, `TriggerFired`, `TagsChanged`) in the serving read model (bench/open_loop.py). A
ticket's trigger delay is that moment minus its opening's answer (the opening event is stored by
then). The delay covers: the trigger runner hearing of the event (LISTEN), running the trigger
and saving its chain, and the projection of the chain.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import psycopg

from bench.open_loop import delay_figures, drive, poll
from bench.seed import seeding_settings
from bench.server import make_key, scratch_database, serve, settle, wait_projected, worker
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services

TENANT = "acme"
ADMIN = Actor("bench-admin", ActorKind.AGENT, role="admin")
#: The opening, the trigger's record and its tag change.
ACTED_VERSION = 3


def bench_triggers(conn: psycopg.Connection[Any], user: str, *, rate: float, seconds: int) -> dict[str, Any]:
    """TR1 at `rate` tickets/s for `seconds`."""
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url))
        try:
            services.desk.define_trigger(
                tenant=TENANT,
                name="tag-new",
                title="Tag every new ticket",
                position=1,
                enabled=True,
                on=["created"],
                conditions=None,
                actions=[{"add_tags": ["seen"]}],
                by=ADMIN,
                via="api",
            )
            key = make_key(services, tenant=TENANT)
            settle(url)
            table = services.read_models.active_view().names.tickets
            with worker(url, "projections,triggers"), serve(url, workers=1) as server:
                wait_projected(services, timeout=60)
                context = multiprocessing.get_context("spawn")
                stop = context.Event()
                receiving, sending = context.Pipe(duplex=False)
                condition = f"version >= {ACTED_VERSION}"
                poller = context.Process(target=poll, args=(url, table, condition, stop, sending), daemon=True)
                poller.start()
                time.sleep(1.0)  # the poller is up and polling
                opened = asyncio.run(drive(server.base, key, rate=rate, seconds=seconds, body=_opening))
                _wait_acted(services, {t for t, _, _ in opened if t})
                stop.set()
                seen, interval = receiving.recv()
                poller.join(timeout=10)
        finally:
            services.close()
    figures = delay_figures(opened, seen, interval, delay="trigger_delay")
    return {
        "name": f"tr1_trigger_delay_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "seconds": seconds,
        "never_acted": figures.pop("never_seen"),
        **figures,
    }


def _opening(i: int) -> dict[str, Any]:
    return {"title": f"Printer {i} jams", "requester_id": f"requester-{i % 500}"}


def _wait_acted(services: Services, tickets: set[str], timeout: float = 120.0) -> None:
    """Until the trigger acted on every ticket and the read model shows it (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = services.desk.recorder.max_notification_id() or 0
        if head >= len(tickets) * ACTED_VERSION and services.read_models.position() >= head:
            return
        time.sleep(0.1)
