"""The router: gives tickets waiting in a group's queue to the group's agents, as the group's routing says.

A ticket waits in a queue when it is in a group, unassigned and unsolved (opened into the group,
moved there, or given back). Groups whose routing is not `manual` (domain/directory/routing.py:
round robin, least loaded, skills, nearest) have their waiting tickets routed by this process, which
follows the event log through the read models: on news of the log (infrastructure/log_signal.py:
a save in this process, or on PostgreSQL in any process) it waits for the serving read model to
reach the log's head, then sweeps the queues with tickets waiting; and every `interval_seconds`
in any case.

## One sweep

For each queue with waiting tickets, in (tenant, group) order: the group's policy and members
from the tenant's directory, each member's open tickets (`tickets`), when each was last given a
ticket and the agent the group's routing chose last (the routing slice, folded from the log).
Then the waiting tickets, most urgent first, then oldest, each decided by `decide` and recorded
as `Assigned` by the routing rule (actor `routing:<policy>`, channel `routing`), with the
decision's reason and, as causation id, the ticket event the decision was made on. The router
counts its own decisions into what it read, so one sweep routes a burst fairly. When nobody has
room the queue stops there: the ticket keeps waiting, and the next sweep after someone becomes
available (a directory change, a ticket solved: both move the read model on) routes it.

## Exactly once, with any number of routers

- **Never twice.** A decision is recorded with `expected_version`, the ticket version the read
  model showed: a ticket changed since is refused (`VersionMismatchError`), and of two routers
  that decided on one version, the store takes one save (a (ticket, version) pair is a unique
  key) and refuses the other (`RaceLostError`). `Ticket.route` itself refuses a ticket that
  has an agent, or no longer waits in that queue.
- **Never skipped.** A waiting ticket stays a candidate until its row shows it assigned; nothing
  the router knows lives only in its memory, so a restarted router carries on from the log.
- **Alike.** Decisions are a pure function of what is read, so routers reading the same state
  decide alike: a router whose save was refused reads the ticket again and, if it went to the
  agent it chose itself, counts that decision as its own (the round robin moves on, as the
  routing slice will say once it has folded the other router's event). A ticket a person took
  meanwhile counts towards that person's load but moves no pointer. A ticket changed for
  another reason (a comment) is decided again once, on its current version.

After a sweep that recorded something, the router waits (at most `catch_up_seconds`) for the
read model to reach what it recorded, so the next sweep reads its own decisions back.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from time import monotonic
from uuid import UUID

from domain.directory.directory import Directory, Dispatch, GroupEntry, Routing
from domain.directory.geo import Place
from domain.directory.routing import CHANNEL, Candidate, Decision, WaitingTicket, decide, router
from domain.errors import (
    AlreadyClaimedError,
    DomainError,
    RaceLostError,
    TicketNotFoundError,
    VersionMismatchError,
)
from domain.helpdesk import HelpDesk
from domain.provenance import event_cause
from infrastructure.readmodels.store import ReadModels
from projections.routing.rows import WaitingRow

log = logging.getLogger("ledgerdesk.routing")

#: Waiting tickets read per queue and sweep (the rest are routed by the next sweep).
PAGE_SIZE = 500


@dataclass(slots=True)
class RouteResult:
    """What a sweep did. The stored events are the record; these counts are what this router saw."""

    routed: int = 0  # decisions recorded
    adopted: int = 0  # already routed as this router decided (by another router, or its own earlier sweep)
    taken: int = 0  # taken by someone else meanwhile, or no longer waiting
    waiting: int = 0  # left waiting: nobody in the group has room
    failed: int = 0  # refused for another reason (logged)
    position: int | None = None  # the log position of the last decision recorded


@dataclass(slots=True)
class _Queue:
    """One queue as the router sees it during a sweep: what it read, plus its own decisions since."""

    tenant: str
    group: GroupEntry
    members: dict[str, Candidate]
    last_chosen: str | None
    dispatch: Dispatch
    result: RouteResult = field(default_factory=RouteResult)

    def decide(self, row: WaitingRow, location: Place | None) -> Decision | None:
        return decide(
            self.group,
            list(self.members.values()),
            WaitingTicket(row.ticket_type, row.tags, location),
            last_chosen=self.last_chosen,
            radius_km=self.dispatch.radius_km,
        )

    def count(self, agent: str, at: datetime, *, routed: bool) -> None:
        """An assignment to `agent` at `at`: one more open ticket; if it was this routing's, its pointer moves."""
        member = self.members.get(agent)
        if member is not None:
            self.members[agent] = Candidate(member.agent, member.open_tickets + 1, at, member.place)
        if routed:
            self.last_chosen = agent


class Router:
    """Routes waiting tickets: one `sweep` at a time, or in a thread."""

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        *,
        interval_seconds: float = 5.0,
        page_size: int = PAGE_SIZE,
        catch_up_seconds: float = 5.0,
        news: threading.Event | None = None,
    ) -> None:
        self.desk = desk
        self.read_models = read_models
        self.interval_seconds = interval_seconds
        self.page_size = page_size
        self.catch_up_seconds = catch_up_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if news is None:  # no news of other processes: this one's saves, and the sweep every interval
            news = threading.Event()
            desk.on_saved(lambda _: news.set())
        self._news = news

    # --- one sweep -----------------------------------------------------------------------------

    def sweep(self) -> RouteResult:
        """Route every waiting ticket of every routed queue that someone has room for."""
        result = RouteResult()
        queues: dict[str, list[str]] = defaultdict(list)
        for tenant, group in self.read_models.routing().waiting_queues():
            queues[tenant].append(group)
        for tenant, groups in queues.items():
            directory = self.desk.directory(tenant)
            for name in groups:
                entry = None if directory is None else directory.group(name)
                if self._stopping.is_set() or directory is None or entry is None or entry.routing is Routing.MANUAL:
                    continue
                self._route_queue(self._queue(tenant, directory, entry), result)
        if result.position is not None:
            self.read_models.wait_for(result.position, self.catch_up_seconds)
        return result

    def _queue(self, tenant: str, directory: Directory, group: GroupEntry) -> _Queue:
        reads = self.read_models.routing()
        names = directory.members_of(group.name)
        load, idle = reads.open_tickets(tenant, names), reads.last_assigned(tenant, names)
        members = {}
        for name in names:
            agent = directory.agent(name)
            if agent is not None:
                members[name] = Candidate(agent, load.get(name, 0), idle.get(name), directory.place_of(name))
        last = reads.last_routed(tenant, group.name)
        return _Queue(tenant, group, members, last, directory.dispatch_of(group.name))

    def _route_queue(self, queue: _Queue, result: RouteResult) -> None:
        for row in self.read_models.routing().waiting(queue.tenant, queue.group.name, self.page_size):
            if self._stopping.is_set():
                return
            nearest = queue.group.routing is Routing.NEAREST
            decision = queue.decide(row, self._location(row.ticket_id) if nearest else None)
            if decision is None:
                result.waiting += 1
                if queue.group.routing in (Routing.SKILLS, Routing.NEAREST):
                    continue  # the next ticket may need skills, or be in a place, someone with room has
                return
            self._record(queue, row.ticket_id, row.version, decision, result, retry=True)

    def _record(
        self, queue: _Queue, ticket_id: UUID, version: int, decision: Decision, result: RouteResult, *, retry: bool
    ) -> None:
        """Record one decision, made on `version` of the ticket; on a refusal, see what the ticket is now."""
        try:
            receipt = self.desk.route(
                ticket_id,
                agent=decision.agent,
                group=queue.group.name,
                reason=decision.reason,
                caused_by=event_cause(ticket_id, version),
                travel=None if decision.distance_km is None else (decision.distance_km, queue.dispatch.speed_kmh),
                expected_version=version,
                by=router(queue.group.routing),
                via=CHANNEL,
            )
        except (VersionMismatchError, RaceLostError, AlreadyClaimedError):
            self._after_refusal(queue, ticket_id, decision, result, retry=retry)
            return
        except DomainError:  # gone, closed, solved or moved meanwhile: it no longer waits here
            result.taken += 1
            return
        queue.count(decision.agent, receipt.ticket.modified_on, routed=True)
        result.routed += 1
        result.position = receipt.position

    def _location(self, ticket_id: UUID) -> Place | None:
        """Where a waiting ticket is served (the read models keep no personal data: read from the ticket)."""
        try:
            location = self.desk.get_ticket(ticket_id).location
        except TicketNotFoundError:
            return None
        return None if location is None else Place.from_dict(location)

    def _after_refusal(
        self, queue: _Queue, ticket_id: UUID, decision: Decision, result: RouteResult, *, retry: bool
    ) -> None:
        try:
            ticket = self.desk.get_ticket(ticket_id)
        except TicketNotFoundError:
            result.taken += 1
            return
        if ticket.assignee is not None:
            adopted = ticket.assignee == decision.agent and ticket.group == queue.group.name
            queue.count(ticket.assignee, ticket.modified_on, routed=adopted)
            if adopted:
                result.adopted += 1
            else:
                result.taken += 1
            return
        if retry and ticket.group == queue.group.name:
            self._record(queue, ticket_id, ticket.version, decision, result, retry=False)
            return
        result.taken += 1

    # --- running in the background --------------------------------------------------------------

    def start(self) -> None:
        """Sweep now, then whenever the read model moves on (at least every `interval_seconds`), until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ledgerdesk-router", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the decision in hand (each is one transaction: stored whole or not at all)."""
        self._stopping.set()
        self._news.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        seen = -1
        while not self._stopping.is_set():
            self._news.clear()  # before reading: news from here on means a change this sweep may not see
            try:
                seen = self.read_models.position()
                result = self.sweep()
            except Exception:
                log.exception("routing sweep failed; trying again in %s s", self.interval_seconds)
                self._stopping.wait(self.interval_seconds)
                continue
            if result.routed or result.failed:
                log.info("routing sweep: %s", result)
            self._wait_for_news(seen)

    def _wait_for_news(self, seen: int) -> None:
        """Until news of the log, then until the read model reaches the log's head; at most `interval_seconds`."""
        deadline = monotonic() + self.interval_seconds
        while not self._stopping.is_set() and (left := deadline - monotonic()) > 0:
            if not self._news.wait(left) or self._stopping.is_set():
                return  # the interval is over: sweep in any case
            self._news.clear()
            head = self.read_models.head()
            if head > seen:  # the read model will move: sweep once it has (or once the wait is over)
                self.read_models.wait_for(head, min(max(deadline - monotonic(), 0.0), self.catch_up_seconds))
                return
