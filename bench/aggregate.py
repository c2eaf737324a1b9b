"""A1: loading one ticket (`HelpDesk.get_ticket`) with 10 events vs with 10,000 events.

Three tickets are written through the application's commands (saved every 500 events, so
snapshots are taken every 100 versions as in service): one with 10 events; one with 10,000 events
that are all comments (its state grows with its history: 10,000 comments); one with 10,000 events
that are reassignments (its state stays the size of a 10-event ticket's). Each is loaded REPEATS
times in each of these ways, and the median reported:

* `snapshots`: the aggregate cache off: the latest snapshot plus the events after it;
* `no_snapshots`: the aggregate cache off and every event replayed from the first (the snapshot
  store switched off);
* `cache`: eventsourcing's aggregate cache on, as the service runs by default
  (LEDGERDESK_AGGREGATE_CACHE_SIZE, 1,000 tickets): fast-forwarded with a query for newer events
  on each read, a copy handed out (`Ticket.__deepcopy__`: each list and dict of the state copied, their
  immutable items shared); after one load that fills it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache

from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from infrastructure.composition import Services

REPEATS = 30
AGENT = Actor("bench", ActorKind.AGENT)
SAVE_EVERY = 500
CACHE_SIZE = 1000


def time_get_ticket(services: Services) -> list[dict[str, Any]]:
    """A1: milliseconds per load for each ticket and way; ratios of the 10,000-event tickets to the 10-event one."""
    desk = services.desk
    tickets = {
        "10": _ticket(desk, 10, comments=True),
        "10000_comments": _ticket(desk, 10_000, comments=True),
        "10000_reassignments": _ticket(desk, 10_000, comments=False),
    }
    rows = []
    for way in ("snapshots", "no_snapshots", "cache"):
        with _loading(desk, way):
            ms = {name: _median_ms(desk, ticket_id) for name, ticket_id in tickets.items()}
        rows.append(
            {
                "name": f"a1_get_ticket_{way}",
                "way": way,
                "ms_10_events": ms["10"],
                "ms_10000_comment_events": ms["10000_comments"],
                "ms_10000_reassignment_events": ms["10000_reassignments"],
                "ratio_comments": round(ms["10000_comments"] / ms["10"], 2),
                "ratio_reassignments": round(ms["10000_reassignments"] / ms["10"], 2),
                "target_ratio": 2.0,
                "repeats": REPEATS,
            }
        )
    return rows


def _ticket(desk: HelpDesk, events: int, *, comments: bool) -> UUID:
    ticket_id = desk.open_ticket(tenant="bench", title="long", requester_id="bob", by=AGENT, via="api").ticket_id
    ticket = desk.get_ticket(ticket_id)
    for n in range(events - 1):
        with desk._acting(AGENT, "api", ticket):
            if comments:
                ticket.add_comment(f"note {n}", public=False)
            else:
                ticket.assign(assignee=f"agent-{n % 2}", group="it")
        if len(ticket.pending_events) >= SAVE_EVERY:
            desk.save(ticket)
    desk.save(ticket)
    assert desk.get_ticket(ticket_id).version == events
    return ticket_id


@contextmanager
def _loading(desk: HelpDesk, way: str) -> Iterator[None]:
    repository = desk.repository
    snapshots, cache = repository.snapshot_store, repository.cache
    repository.cache = LRUCache(maxsize=CACHE_SIZE) if way == "cache" else None
    if way == "no_snapshots":
        repository.snapshot_store = None
    try:
        yield
    finally:
        repository.snapshot_store, repository.cache = snapshots, cache


def _median_ms(desk: HelpDesk, ticket_id: UUID) -> float:
    desk.get_ticket(ticket_id)  # warm: caches, prepared statements, the aggregate cache when on
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        desk.get_ticket(ticket_id)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)
