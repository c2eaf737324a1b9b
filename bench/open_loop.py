"""An open-loop load of ticket openings, and a poller that notes when each ticket shows a change.

Shared by the benchmarks that measure how long the desk takes to act on a new ticket by itself
(RT1: the router; TR1: the trigger runner). Tickets are opened at a steady rate whether or not
earlier ones were answered (ticket i is sent at start + i / rate); a poller in a process of its
own reads the serving read model's ticket rows every POLL_SECONDS and notes when each ticket
first matches a condition. Both read the same monotonic clock; the poll interval (reported)
bounds the error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

import httpx2 as httpx
import psycopg

from bench.lag import MAX_CONNECTIONS, _cuts

POLL_SECONDS = 0.002
#: (ticket id, or '' when the opening failed; when it was sent; when it was answered)
Opened = list[tuple[str, float, float]]


def poll(url: str, table: str, condition: str, stop: Event, out: Connection) -> None:
    """In a process of its own: note when each ticket row first meets `condition`; send {id: moment} when stopped."""
    seen: dict[str, float] = {}
    polls, last = 0, 0
    statement = f"SELECT ticket_id, position FROM {table} WHERE ({condition}) AND position > %s"
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


async def drive(
    base: str,
    key: str,
    *,
    rate: float,
    seconds: int,
    body: Callable[[int], dict[str, Any]],
    path: Callable[[int], str] = lambda _: "/tickets",
) -> Opened:
    """Open ticket `body(i)` for i = 0, 1, ... on schedule; (ticket id or '' on failure, sent, answered) per ticket.

    `path` sends request i elsewhere (a reply to an existing ticket, say: its answer names the ticket too).
    """
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
    headers = {"Authorization": f"Bearer {key}"}
    opened: Opened = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:

        async def one(i: int) -> None:
            sent = time.monotonic()
            try:
                response = await client.post(path(i), json=body(i))
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


def delay_figures(opened: Opened, seen: dict[str, float], interval: float, *, delay: str) -> dict[str, Any]:
    """Delay (answered -> seen), end-to-end (sent -> seen) and opening times, in ms, and what was never seen."""
    delays, end_to_end = [], []
    for ticket_id, sent, answered in opened:
        if ticket_id in seen:
            delays.append(max(0.0, seen[ticket_id] - answered) * 1000)
            end_to_end.append((seen[ticket_id] - sent) * 1000)
    span = max(a for _, _, a in opened) - min(s for _, s, _ in opened)
    return {
        "achieved_rate_per_s": round(len(opened) / span, 1),
        "tickets": len(opened),
        "failed_openings": sum(1 for t, _, _ in opened if not t),
        "never_seen": sum(1 for t, _, _ in opened if t and t not in seen),
        **_cuts(delays, delay),
        **_cuts(end_to_end, "end_to_end"),
        **_cuts([(a - s) * 1000 for _, s, a in opened], "open"),
        "poll_interval_ms": round(interval * 1000, 2),
    }
