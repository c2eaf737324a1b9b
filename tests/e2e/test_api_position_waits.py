"""Read-your-writes waits (`min_position`) hold no thread, are capped per key, and refuse positions past the log.

Through the real app and its lifespan, with an asynchronous HTTP client so that many requests are
in flight at once, on SQLite and PostgreSQL. The projection worker is started only when a test
wants the waits to end, so until then every wait for the last write's position is pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import httpx2
import pytest

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

FAR = 2**63 - 2  # the position of the finding: far beyond any log's head
TICKET = {"title": "Printer on fire", "requester_id": "bob"}
PROBLEM = "application/problem+json"

Scenario = Callable[["Desk"], Awaitable[None]]


class Desk:
    """The app on one store, an async client for it, and two agents' keys."""

    def __init__(self, services: Services, client: httpx2.AsyncClient) -> None:
        self.services = services
        self.client = client
        self.alice = self._key("alice")
        self.carol = self._key("carol")

    def _key(self, actor: str) -> dict[str, str]:
        secret = self.services.keys.create(actor_id=actor, role=Role.AGENT, tenant="acme").secret
        return {"Authorization": f"Bearer {secret}"}

    async def write(self) -> int:
        """Open a ticket as alice; the log position of its event."""
        created = await self.client.post("/tickets", json=TICKET, headers=self.alice)
        assert created.status_code == 201, created.text
        return int(created.headers["ledgerdesk-position"])

    def waits(self, path: str, count: int, headers: dict[str, str]) -> list[asyncio.Task[httpx2.Response]]:
        """`count` concurrent GETs of `path`, as tasks."""
        return [asyncio.ensure_future(self.client.get(path, headers=headers)) for _ in range(count)]

    async def until_waiting(self, count: int) -> None:
        """Let the event loop run until `count` requests are parked waiting for a position."""
        for _ in range(10_000):
            if self.services.read_models.waiting() >= count:
                return
            await asyncio.sleep(0.005)
        pytest.fail(f"{self.services.read_models.waiting()} requests waiting, expected {count}")


@pytest.fixture
def run_desk(read_settings: Settings) -> Iterator[Callable[..., None]]:
    """Run a scenario against the real app built from `read_settings` with some settings overridden."""
    built: list[Services] = []

    def run(scenario: Scenario, **overrides: Any) -> None:
        settings = read_settings.model_copy(update={"rate_limit": "", **overrides})
        services = build_services(settings, clock=TickingClock())
        built.append(services)
        asyncio.run(_run(services, scenario))

    yield run
    for services in built:
        services.close()


async def _run(services: Services, scenario: Scenario) -> None:
    async with _serving(services) as client:
        await scenario(Desk(services, client))


@asynccontextmanager
async def _serving(services: Services) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


def _assert_problem(response: httpx2.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"urn:ledgerdesk:problem:{slug}"


def test_a_hundred_waits_hold_no_thread_and_others_are_served(run_desk: Callable[..., None]) -> None:
    """Issue 13, finding 4: 100 waits from one key held the thread pool; another key's list waited for them."""

    async def scenario(desk: Desk) -> None:
        position = await desk.write()
        waits = desk.waits(f"/views?min_position={position}", 100, desk.alice)
        await desk.until_waiting(100)
        assert anyio.to_thread.current_default_thread_limiter().borrowed_tokens == 0
        other = await desk.client.get("/tickets", headers=desk.carol)
        assert other.status_code == 200, other.text
        assert not any(wait.done() for wait in waits)  # carol was served while all 100 still waited
        desk.services.start_projections()  # its worker wakes the waits as it applies the write
        answers = await asyncio.gather(*waits)
        assert {a.status_code for a in answers} == {200}
        assert min(int(a.headers["ledgerdesk-view-position"]) for a in answers) >= position
        assert desk.services.read_models.waiting() == 0

    run_desk(scenario, read_wait_seconds=30, read_waits_per_key=100)


def test_a_key_holds_at_most_its_share_of_waits(run_desk: Callable[..., None]) -> None:
    async def scenario(desk: Desk) -> None:
        position = await desk.write()
        alice_waits = desk.waits(f"/tickets?min_position={position}", 8, desk.alice)
        await desk.until_waiting(8)
        ninth = await desk.client.get("/tickets", params={"min_position": position}, headers=desk.alice)
        _assert_problem(ninth, 429, "too-many-waits")
        assert ninth.headers["retry-after"] == "1"
        # The cap is per key: carol may still wait, as header or parameter.
        carol_wait = asyncio.ensure_future(
            desk.client.get("/views", headers={**desk.carol, "Ledgerdesk-Min-Position": str(position)})
        )
        await desk.until_waiting(9)
        desk.services.start_projections()
        answers = await asyncio.gather(*alice_waits, carol_wait)
        assert {a.status_code for a in answers} == {200}

    run_desk(scenario, read_wait_seconds=30)


def test_a_position_beyond_the_log_head_is_refused_at_once(run_desk: Callable[..., None]) -> None:
    async def scenario(desk: Desk) -> None:
        position = await desk.write()
        far = await desk.client.get("/views", params={"min_position": FAR}, headers=desk.alice)
        _assert_problem(far, 422, "position-beyond-head")
        assert "min_position" in far.json()["detail"]
        by_header = await desk.client.get("/tickets", headers={**desk.alice, "Ledgerdesk-Min-Position": str(FAR)})
        _assert_problem(by_header, 422, "position-beyond-head")
        just_past = await desk.client.get(
            "/queues/unassigned", params={"min_position": position + 1}, headers=desk.alice
        )
        _assert_problem(just_past, 422, "position-beyond-head")
        # Out of the parameter's range is the query model's 422, as before.
        invalid = await desk.client.get("/views", params={"min_position": 2**63}, headers=desk.alice)
        assert invalid.status_code == 422
        assert desk.services.read_models.waiting() == 0

    run_desk(scenario, read_wait_seconds=30)


def test_a_wait_that_times_out_answers_with_the_older_position(run_desk: Callable[..., None]) -> None:
    async def scenario(desk: Desk) -> None:
        position = await desk.write()
        stale = await desk.client.get("/tickets", params={"min_position": position}, headers=desk.alice)
        assert stale.status_code == 200, stale.text
        assert int(stale.headers["ledgerdesk-view-position"]) < position
        assert stale.json()["view_position"] < position

    run_desk(scenario, read_wait_seconds=0)


def test_the_feed_answers_once_the_worker_has_applied_the_position(run_desk: Callable[..., None]) -> None:
    async def scenario(desk: Desk) -> None:
        position = await desk.write()
        desk.services.start_projections()
        caught_up = await desk.client.get("/events", params={"min_position": position}, headers=desk.alice)
        assert caught_up.status_code == 200, caught_up.text
        assert int(caught_up.headers["ledgerdesk-view-position"]) >= position
        assert caught_up.json()["items"][0]["type"] == "Ticket.Opened"

    run_desk(scenario, read_wait_seconds=30)
