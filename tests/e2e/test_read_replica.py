"""Read endpoints served from a real streaming replica: where each read goes, and read-your-writes kept."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

pytestmark = pytest.mark.postgres


@pytest.fixture
def services(replica_settings: Settings) -> Iterator[Services]:
    built = build_services(replica_settings, clock=TickingClock())
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    key = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client


def _open(client: TestClient, title: str) -> int:
    response = client.post("/tickets", json={"title": title, "requester_id": "bob"})
    assert response.status_code == 201, response.text
    return int(response.headers["ledgerdesk-position"])


def _list_when_replica(client: TestClient, timeout: float = 20.0) -> list[str]:
    """The ticket list, once the replica serves it (it has caught up with what this process wrote)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/tickets")
        assert response.status_code == 200, response.text
        if response.headers["ledgerdesk-read-from"] == "replica" or time.monotonic() > deadline:
            assert response.headers["ledgerdesk-read-from"] == "replica"
            return [t["title"] for t in response.json()["items"]]
        time.sleep(0.05)


def test_lists_are_read_from_the_replica_once_it_has_caught_up(client: TestClient) -> None:
    _open(client, "Printer jam")
    assert _list_when_replica(client) == ["Printer jam"]


def test_a_replica_behind_the_position_asked_for_leaves_the_read_to_the_primary(
    client: TestClient, replica_settings: Settings
) -> None:
    _open(client, "First")
    _list_when_replica(client)
    with psycopg.connect(replica_settings.read_database_url, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")  # the replica stops applying what the primary sends
        try:
            position = _open(client, "Second")
            read = client.get("/tickets", headers={"Ledgerdesk-Min-Position": str(position)})
            assert read.headers["ledgerdesk-read-from"] == "primary"
            assert sorted(t["title"] for t in read.json()["items"]) == ["First", "Second"]
            # Without a token too: this process wrote "Second", so it never reads a state without it.
            assert client.get("/tickets").headers["ledgerdesk-read-from"] == "primary"
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    assert sorted(_list_when_replica(client)) == ["First", "Second"]


def test_reads_go_to_the_primary_while_the_replica_is_away(services: Services, client: TestClient) -> None:
    position = _open(client, "Kept")
    assert services.replica_reads is not None
    services.replica_reads.read_models.replica.close()  # type: ignore[union-attr]  # its pool closed: no answer
    read = client.get("/tickets", params={"min_position": position})  # the primary's read model has it by then
    assert read.status_code == 200
    assert read.headers["ledgerdesk-read-from"] == "primary"
    assert [t["title"] for t in read.json()["items"]] == ["Kept"]
