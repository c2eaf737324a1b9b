"""The event feed under concurrent writers: a follower keeping its cursor sees each of its tenant's events once.

Writers on two Services objects (two connection pools, as two API processes would have) open and
change tickets of two tenants while followers page through the feed, each keeping its cursor,
and a projection worker advances the read model the feed reads up to. Racing writes on shared
tickets make some inserts fail, so the log has gaps. Afterwards each follower's positions must be
exactly its tenant's notification ids in the log, in order, without one of the other tenant.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import DEFAULT_WORKFLOW, Status
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.feed import EventFeed, decode_position
from infrastructure.settings import Settings

pytestmark = pytest.mark.postgres

TENANTS = ("acme", "globex")
AGENTS = ("alice", "carol", "dave")
TAGS = ("vpn", "printer", "billing", "vip")
ALICE = Actor("alice", ActorKind.AGENT)
REQUESTER = Actor("bob", ActorKind.REQUESTER)
PAGE = 50
LOG_LIMIT = 100_000
CATCH_UP_SECONDS = 20.0
FOLLOW_SECONDS = 30.0  # longest a follower may take to reach the head once writing has stopped


class Writer:
    """One client writing one tenant's tickets: its own tickets, plus tickets shared with other writers."""

    def __init__(self, desk: HelpDesk, tenant: str, shared: list[UUID], seed: int) -> None:
        self.desk = desk
        self.tenant = tenant
        self.shared = shared
        self.rng = random.Random(seed)
        self.seed = seed
        self.own: dict[UUID, Status] = {}  # this writer's open tickets and their status
        self.recorded = 0

    def run(self, stop: threading.Event, errors: list[BaseException]) -> None:
        try:
            while not stop.is_set():
                # A write that lost a race on a shared ticket stored nothing (a notification id is
                # skipped) and was carried out again on the ticket as the winner left it.
                self.step()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if not self.own or roll < 0.2:
            receipt = self.desk.open_ticket(
                tenant=self.tenant, title=f"ticket of writer {self.seed}", requester_id="bob", by=REQUESTER, via="web"
            )
            self.own[receipt.ticket_id] = Status.NEW
        elif roll < 0.22:
            self.desk.save_view(
                tenant=self.tenant,
                name=f"w{self.seed}-{self.recorded}",
                filters={"status": ["open"]},
                by=ALICE,
                via="web",
            )
        elif roll < 0.5:  # racing other writers of this tenant
            ticket_id = rng.choice(self.shared)
            if rng.random() < 0.5:
                receipt = self.desk.assign(ticket_id, assignee=rng.choice(AGENTS), by=ALICE, via="web")
            else:
                receipt = self.desk.add_comment(ticket_id, f"from writer {self.seed}", public=True, by=ALICE, via="web")
            if receipt.position is None:
                return
        else:
            ticket_id = rng.choice(sorted(self.own))
            action = rng.random()
            if action < 0.4:
                target = rng.choice(sorted(DEFAULT_WORKFLOW.allowed_from(self.own[ticket_id])))
                self.desk.transition(ticket_id, target.value, by=ALICE, via="web")
                if target is Status.CLOSED:
                    del self.own[ticket_id]
                else:
                    self.own[ticket_id] = target
            elif action < 0.7:  # several events in one transaction
                self.desk.update_ticket(
                    ticket_id,
                    priority=rng.choice(("low", "normal", "high", "urgent")),
                    ticket_type=rng.choice(("incident", "question", None)),
                    add_tags=rng.sample(TAGS, 2),
                    remove_tags=rng.sample(TAGS, 2),
                    by=ALICE,
                    via="web",
                )
            else:
                self.desk.add_comment(ticket_id, "note", public=False, by=ALICE, via="email")
        self.recorded += 1


class Follower:
    """Follows one tenant's feed from the start, keeping only the cursor the last page gave."""

    def __init__(self, tenant: str, fetch: Callable[[Any], tuple[list[int], Any]]) -> None:
        self.tenant = tenant
        self.fetch = fetch  # cursor (None at first) -> (positions on the page, the cursor to continue after)
        self.cursor: Any = None
        self.positions: list[int] = []
        self.pages = 0
        self.seen_while_writing = 0

    def run(self, writing: threading.Event, drain: threading.Event, errors: list[BaseException]) -> None:
        """Page until `drain` is set and a page brings nothing new."""
        try:
            deadline = time.monotonic() + CATCH_UP_SECONDS + FOLLOW_SECONDS + 60
            while time.monotonic() < deadline:
                draining = drain.is_set()  # read before the page: a page read after it reaches the head
                positions, after = self.fetch(self.cursor)
                self.pages += 1
                self.positions.extend(positions)
                if writing.is_set():
                    self.seen_while_writing = len(self.positions)
                if after == self.cursor:
                    assert not positions, f"the cursor stood still on a page with {positions}"
                    if draining:
                        return
                    time.sleep(0.005)
                self.cursor = after
            errors.append(AssertionError(f"the {self.tenant} follower did not reach the head in time"))
        except BaseException as error:
            errors.append(error)


def _check_page(cursor: int, positions: list[int], after: int) -> None:
    """A page holds positions after the cursor, up to the cursor it gives, in increasing order."""
    assert after >= cursor, f"the cursor went back from {cursor} to {after}"
    assert all(cursor < p <= after for p in positions), f"positions {positions} not in ({cursor}, {after}]"
    assert all(a < b for a, b in itertools.pairwise(positions)), f"page not in order: {positions}"


def _tenants_in_log(desk: HelpDesk) -> dict[str, list[int]]:
    """Every notification id in the log, by the tenant its event belongs to."""
    notifications = desk.recorder.select_notifications(start=0, limit=LOG_LIMIT, inclusive_of_start=False)
    assert len(notifications) < LOG_LIMIT
    tenant_of: dict[UUID, str] = {}
    by_tenant: dict[str, list[int]] = {tenant: [] for tenant in TENANTS}
    for notification in notifications:
        event: Any = desk.mapper.to_domain_event(notification)
        if isinstance(event, Ticket.Opened | SavedView.Created):
            tenant_of[event.originator_id] = event.tenant
        by_tenant[tenant_of[event.originator_id]].append(notification.id)
    return by_tenant


def _check(followers: list[Follower], desk: HelpDesk) -> None:
    log = _tenants_in_log(desk)
    for follower in followers:
        seen, expected = follower.positions, log[follower.tenant]
        others = {i for tenant, ids in log.items() if tenant != follower.tenant for i in ids}
        assert seen, f"the {follower.tenant} follower saw nothing"
        assert follower.seen_while_writing > 0, f"the {follower.tenant} follower only read after the writers"
        assert all(a < b for a, b in itertools.pairwise(seen)), "positions not strictly increasing"
        assert len(seen) == len(set(seen)), "a position was seen twice"
        assert not set(seen) & others, f"{follower.tenant} saw other tenants' events {sorted(set(seen) & others)[:5]}"
        missed, extra = sorted(set(expected) - set(seen)), sorted(set(seen) - set(expected))
        assert not missed, f"{follower.tenant} missed {len(missed)} of {len(expected)} events, e.g. {missed[:5]}"
        assert not extra, f"{follower.tenant} saw {len(extra)} positions that are not its events, e.g. {extra[:5]}"
        assert seen == expected


def _run(
    pools: list[Services],
    followers: list[Follower],
    writers_per_tenant: int,
    seconds: float,
) -> list[Writer]:
    """Writers (spread over `pools`) and followers run together; writers stop; the worker, then followers catch up."""
    desk = pools[0].desk
    shared = {
        tenant: [
            desk.open_ticket(tenant=tenant, title="shared", requester_id="bob", by=REQUESTER, via="web").ticket_id
            for _ in range(3)
        ]
        for tenant in TENANTS
    }
    writers = [
        Writer(pools[n % len(pools)].desk, tenant, shared[tenant], seed=n * len(TENANTS) + t)
        for n in range(writers_per_tenant)
        for t, tenant in enumerate(TENANTS)
    ]
    stop, writing, drain = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=w.run, args=(stop, errors), name=f"writer-{w.seed}") for w in writers]
    threads += [
        threading.Thread(target=f.run, args=(writing, drain, errors), name=f"follower-{f.tenant}") for f in followers
    ]
    writing.set()
    for thread in threads:
        thread.start()
    try:
        time.sleep(seconds)
        writing.clear()
        stop.set()
        for thread in threads[: len(writers)]:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads[: len(writers)]), "a writer did not stop"
        head = desk.recorder.max_notification_id()
        assert head is not None
        assert pools[0].read_models.wait_for(head, CATCH_UP_SECONDS) == head, "the worker did not catch up"
        drain.set()
        for thread in threads[len(writers) :]:
            thread.join(timeout=FOLLOW_SECONDS)
        assert not any(thread.is_alive() for thread in threads), "a follower did not finish"
    finally:
        stop.set()
        drain.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, f"{len(errors)} thread(s) failed; first: {errors[0]!r}"
    assert sum(w.recorded for w in writers) >= 100
    return writers


@pytest.fixture
def pools(postgres_settings: Settings) -> Iterator[list[Services]]:
    """Two Services objects on one schema, built one after the other (table creation races); the first runs a worker."""
    built = [build_services(postgres_settings), build_services(postgres_settings)]
    built[0].read_models.view(1)
    built[1].read_models.view(1)
    built[0].start_projections()
    try:
        yield built
    finally:
        for services in built:
            services.close()


def test_followers_of_the_feed_see_each_of_their_tenants_events_once_in_order(pools: list[Services]) -> None:
    def follow(services: Services, tenant: str) -> Follower:
        feed = EventFeed(services.desk, services.read_models)

        def fetch(cursor: int | None) -> tuple[list[int], int]:
            after = cursor or 0
            page = feed.page(tenant, after=after, limit=PAGE)
            positions = [entry.position for entry in page.entries]
            _check_page(after, positions, page.after)
            assert page.after <= page.view_position, "the feed read past what the read model had applied"
            return positions, page.after

        return Follower(tenant, fetch)

    # Each follower reads through a different pool; only the first one runs the worker.
    followers = [follow(pools[0], "acme"), follow(pools[1], "globex")]
    _run(pools, followers, writers_per_tenant=4, seconds=4.0)
    ids = sorted(i for ids in _tenants_in_log(pools[0].desk).values() for i in ids)
    assert ids[-1] - ids[0] + 1 > len(ids), "no failed insert left a gap in the log for the feed to step over"
    _check(followers, pools[0].desk)


def test_followers_of_get_events_see_each_of_their_tenants_events_once_in_order(pools: list[Services]) -> None:
    keys = {
        tenant: pools[0].keys.create(actor_id=f"agent-of-{tenant}", role=Role.AGENT, tenant=tenant).secret
        for tenant in TENANTS
    }
    with TestClient(create_app(services=pools[0])) as client:

        def follow(tenant: str) -> Follower:
            auth = {"Authorization": f"Bearer {keys[tenant]}"}

            def fetch(cursor: str | None) -> tuple[list[int], str]:
                params: dict[str, str | int] = {"limit": PAGE} if cursor is None else {"limit": PAGE, "after": cursor}
                response = client.get("/events", params=params, headers=auth)
                assert response.status_code == 200, response.text
                body = response.json()
                positions = [item["position"] for item in body["items"]]
                after = decode_position(body["next_cursor"])
                _check_page(0 if cursor is None else decode_position(cursor), positions, after)
                return positions, body["next_cursor"]

            return Follower(tenant, fetch)

        followers = [follow(tenant) for tenant in TENANTS]
        _run(pools, followers, writers_per_tenant=2, seconds=2.0)
    _check(followers, pools[0].desk)
