"""L1: how long after a command its change is visible in the read model, at a steady command rate.

Method. `ledgerdesk project` and `ledgerdesk serve --workers N` run as in production, on a fresh
database seeded with BENCH_W1_TICKETS tickets. An asyncio client sends the W1 mix open-loop at
BENCH_L1_RATE commands/s: command i is sent at start + i / rate whether or not earlier ones have
been answered (never two at once on one ticket), and the client notes when each was sent, when its
answer arrived, and the answer's `Ledgerdesk-Position` (the log position of its last event).
Meanwhile a poller in a process of its own reads the serving read model's tracking position
(`SELECT max(notification_id) FROM rm<N>_tracking`, written by the projection in the same
transaction as the tickets' rows) every POLL_SECONDS, and notes when each position first shows.
A command is visible at the first poll that shows its position or a later one; its lag is that
moment minus the moment its answer arrived (0 if the poll saw it first), its end-to-end time that
moment minus the moment it was sent. Both processes read the same monotonic clock; the poll
interval (reported) bounds the error.

As a cross-check through the API, every PROBE_EVERY-th command is followed by
`GET /queues/groups/<its group>?min_position=<its position>`, which waits server-side until the read
model has applied that position (re-reading it every 10 ms); its time from the command's answer is
reported too.
"""

from __future__ import annotations

import asyncio
import bisect
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

import httpx2 as httpx
import psycopg

from bench.seed import GROUPS, seed_tickets, seeding_settings
from bench.server import make_key, project, scratch_database, serve, settle, wait_projected
from domain.tickets.ticket import Ticket
from infrastructure.composition import build_services

TENANT = "acme"
POLL_SECONDS = 0.001
PROBE_EVERY = 10
MAX_CONNECTIONS = 100
MAX_IN_FLIGHT = 200  # beyond this the server is overloaded: further commands are skipped and counted
MIX = (("open", 0.25), ("assign", 0.45), ("comment", 0.80), ("transition", 0.95), ("patch", 1.0))
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass
class Sent:
    """One command as the client saw it."""

    due: float
    sent: float
    answered: float
    status: int  # 0: no answer (timeout, connection error)
    position: int | None


def poll(url: str, table: str, stop: Event, out: Connection) -> None:
    """In a process of its own: note (moment, position) whenever the tracking position moves; send them when stopped."""
    moments: list[float] = []
    positions: list[int] = []
    polls = 0
    statement = f"SELECT max(notification_id) FROM {table} WHERE application_name = 'HelpDesk'"
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.monotonic()
        last = -1
        while not stop.is_set():
            row = conn.execute(statement, prepare=True).fetchone()
            now = time.monotonic()
            polls += 1
            if row is not None and row[0] is not None and row[0] > last:
                last = row[0]
                moments.append(now)
                positions.append(last)
            time.sleep(POLL_SECONDS)
        interval = (time.monotonic() - began) / max(polls, 1)
    out.send((moments, positions, interval))


def bench_lag(
    conn: psycopg.Connection[Any], user: str, *, rate: float, seconds: int, workers: int, tickets: int
) -> dict[str, Any]:
    """L1 at `rate` commands/s for `seconds`, against `workers` API workers and one projection process."""
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url))
        try:
            mine: list[tuple[str, str, str]] = []

            def keep(ticket: Ticket) -> None:
                if ticket.tenant == TENANT:
                    mine.append((str(ticket.id), ticket.status, ticket.group or GROUPS[0]))

            seed_tickets(services.desk, tickets, built=keep)
            key = make_key(services, tenant=TENANT)
            settle(url)
            table = services.read_models.active_view().names.table("tracking")
            with project(url), serve(url, workers=workers) as server:
                wait_projected(services)
                context = multiprocessing.get_context("spawn")
                stop = context.Event()
                receiving, sending = context.Pipe(duplex=False)
                poller = context.Process(target=poll, args=(url, table, stop, sending), daemon=True)
                poller.start()
                time.sleep(1.0)  # the poller is up and polling
                sent, probes, skipped = asyncio.run(_drive(server.base, key, mine, rate=rate, seconds=seconds))
                wait_projected(services, timeout=300)
                time.sleep(0.1)
                stop.set()
                moments, positions, interval = receiving.recv()
                poller.join(timeout=10)
        finally:
            services.close()
    figures = _figures(sent, probes, (moments, positions, interval), rate=rate, seconds=seconds, workers=workers)
    return {**figures, "skipped_overloaded": skipped}


class Driver:
    """The open-loop client: the mix on schedule, what each command did, and the API probes."""

    def __init__(self, client: httpx.AsyncClient, tickets: list[tuple[str, str, str]]) -> None:
        self.client = client
        self.rng = random.Random(7)
        self.status = {ticket_id: now for ticket_id, now, _ in tickets}
        self.groups = {ticket_id: group for ticket_id, _, group in tickets}
        self.busy: set[str] = set()
        self.sent: list[Sent] = []
        self.probes: list[float] = []  # ms from a command's answer to its read-your-writes read
        self.skipped = 0  # commands not sent: MAX_IN_FLIGHT were unanswered (overload)

    async def run(self, rate: float, seconds: int) -> None:
        """Send command i at start + i / rate, for `seconds`; then wait for every answer."""
        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic() + 0.2
        for i in range(int(rate * seconds)):
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            if len(tasks) >= MAX_IN_FLIGHT:
                self.skipped += 1
                continue
            method, path, body, ticket_id = _command(self.rng, self.status, self.busy)
            if ticket_id is not None:
                self.busy.add(ticket_id)
            task = asyncio.create_task(self.one(i, due, method, path, body, ticket_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.gather(*tasks)

    async def one(
        self, i: int, due: float, method: str, path: str, body: dict[str, Any], ticket_id: str | None
    ) -> None:
        """One command; every PROBE_EVERY-th successful one is followed by a read with min_position."""
        began = time.monotonic()
        try:
            response = await self.client.request(method, path, json=body)
        except httpx.HTTPError:
            self.sent.append(Sent(due, began, time.monotonic(), 0, None))
            return
        finally:
            self.busy.discard(ticket_id or "")
        answered = time.monotonic()
        header = response.headers.get("Ledgerdesk-Position")
        position = int(header) if header else None
        self.sent.append(Sent(due, began, answered, response.status_code, position))
        if response.is_success:
            data = response.json()
            self.status[data["id"]] = data["status"]
            self.groups[data["id"]] = data["group"] or GROUPS[0]
            if position is not None and i % PROBE_EVERY == 0:
                await self.probe(answered, position, self.groups[data["id"]])

    async def probe(self, answered: float, position: int, group: str) -> None:
        """The group's queue, read once the read model has applied `position`."""
        try:
            response = await self.client.get(f"/queues/groups/{group}", params={"min_position": position, "limit": 1})
        except httpx.HTTPError:
            return
        done = time.monotonic()
        applied = int(response.headers.get("Ledgerdesk-View-Position", "0"))
        if response.status_code == 200 and applied >= position:
            self.probes.append((done - answered) * 1000)


async def _drive(
    base: str, key: str, tickets: list[tuple[str, str, str]], *, rate: float, seconds: int
) -> tuple[list[Sent], list[float], int]:
    """Send the mix open-loop on schedule; return what each command did, the API probes' times, the skipped."""
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        driver = Driver(client, tickets)
        await driver.run(rate, seconds)
    return driver.sent, driver.probes, driver.skipped


def _command(rng: random.Random, status: dict[str, str], busy: set[str]) -> tuple[str, str, dict[str, Any], str | None]:
    r = rng.random()
    op = next(name for name, edge in MIX if r < edge)
    ticket_id = None
    body: dict[str, Any]
    if op != "open":
        for _ in range(20):
            candidate = rng.choice(list(status))
            if candidate not in busy:
                ticket_id = candidate
                break
    if ticket_id is None:
        body = {"title": "VPN drops every hour", "requester_id": f"requester-{3 * rng.randrange(1600)}"}
        return "POST", "/tickets", {**body, "tags": ["vpn"]}, None
    path = f"/tickets/{ticket_id}"
    if op == "assign":
        body = {"assignee": f"agent-{3 * rng.randrange(14)}", "group": rng.choice(GROUPS)}
        return "POST", f"{path}/assignment", body, ticket_id
    if op == "comment":
        body = {"body": "Restarted the client, @ops", "public": rng.random() < 0.75}
        return "POST", f"{path}/comments", body, ticket_id
    if op == "transition":
        target = "open" if status[ticket_id] in {"new", "pending", "on_hold", "solved"} else "pending"
        return "POST", f"{path}/transitions", {"to": target}, ticket_id
    return "PATCH", path, {"priority": rng.choice(PRIORITIES)}, ticket_id


def _figures(
    sent: list[Sent],
    probes: list[float],
    polled: tuple[list[float], list[int], float],
    *,
    rate: float,
    seconds: int,
    workers: int,
) -> dict[str, Any]:
    moments, positions, interval = polled
    lags, end_to_end, invisible = [], [], 0
    for s in sent:
        if s.position is None:
            continue
        index = bisect.bisect_left(positions, s.position)
        if index == len(positions):
            invisible += 1
            continue
        lags.append(max(0.0, moments[index] - s.answered) * 1000)
        end_to_end.append((moments[index] - s.sent) * 1000)
    span = max(s.answered for s in sent) - min(s.sent for s in sent)
    return {
        "name": f"l1_command_to_read_model_{rate:g}_per_s",
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(sent) / span, 1),
        "seconds": seconds,
        "workers": workers,
        "commands": len(sent),
        "non_2xx": sum(1 for s in sent if s.status and not 200 <= s.status < 300),
        "no_answer": sum(1 for s in sent if not s.status),
        "unchanged_no_position": sum(1 for s in sent if 200 <= s.status < 300 and s.position is None),
        "never_visible": invisible,
        **_cuts(lags, "lag"),
        **_cuts(end_to_end, "end_to_end"),
        **_cuts([(s.answered - s.sent) * 1000 for s in sent], "command"),
        "sent_late_p95_ms": round(_quantile([(s.sent - s.due) * 1000 for s in sent], 95), 1),
        "poll_interval_ms": round(interval * 1000, 2),
        "api_probes": len(probes),
        **_cuts(probes, "api_probe"),
        "target_p95_ms": 100.0,
    }


def _cuts(values: list[float], prefix: str) -> dict[str, float]:
    if len(values) < 2:
        return {}
    return {f"{prefix}_p50_ms": round(_quantile(values, 50), 1), f"{prefix}_p95_ms": round(_quantile(values, 95), 1)}


def _quantile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
