"""Idempotency-Key on POST, through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.idempotency import _digest
from domain.access.policy import Role
from infrastructure.composition import Services
from infrastructure.idempotency import Claim, KeyScope, LeaseLostError, StoredResponse, reserved, utc_now
from infrastructure.keys import Principal

NEW = {"title": "Printer jam", "requester_id": "bob"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def other_key(sql_services: Services) -> str:
    return sql_services.keys.create(actor_id="dave", role=Role.AGENT, tenant="acme").secret


def _count(client: TestClient, ticket_id: str) -> int:
    return len(client.get(f"/tickets/{ticket_id}/history").json()["items"])


def test_a_retried_create_returns_the_first_response_and_stores_nothing_new(client: TestClient) -> None:
    first = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-1"})
    again = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-2"})
    assert other.json()["id"] != first.json()["id"]


def test_a_retried_command_records_one_event(client: TestClient) -> None:
    ticket = client.post("/tickets", json=NEW).json()["id"]
    for _ in range(3):
        response = client.post(f"/tickets/{ticket}/comments", json={"body": "hi"}, headers={"Idempotency-Key": "c-1"})
        assert response.status_code == 201
    assert _count(client, ticket) == 2


def test_the_same_key_for_another_request_is_refused(client: TestClient) -> None:
    client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k"})
    changed = client.post("/tickets", json={**NEW, "title": "Other"}, headers={"Idempotency-Key": "k"})
    assert changed.status_code == 422
    assert changed.json()["type"] == "urn:ledgerdesk:problem:idempotency-key-reused"
    too_long = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "x" * 300})
    assert too_long.status_code == 422


def test_keys_belong_to_their_api_key(client: TestClient, other_key: str) -> None:
    mine = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "shared"})
    theirs = client.post(
        "/tickets", json=NEW, headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {other_key}"}
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_rejections_are_kept_too(client: TestClient) -> None:
    bad = client.post("/tickets", json={"title": ""}, headers={"Idempotency-Key": "bad"})
    again = client.post("/tickets", json={"title": ""}, headers={"Idempotency-Key": "bad"})
    assert bad.status_code == again.status_code == 422
    assert again.json() == bad.json()


def test_racing_copies_act_once(client: TestClient, sql_services: Services) -> None:
    ticket = client.post("/tickets", json=NEW).json()["id"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait()
        response = client.post(
            f"/tickets/{ticket}/comments", json={"body": "once"}, headers={"Idempotency-Key": "race"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert _count(client, ticket) == 2


def test_other_methods_ignore_the_header(sql_services: Services) -> None:
    key = sql_services.keys.create(actor_id="erin", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as client:
        ticket = client.post("/tickets", json=NEW).json()
        url = f"/tickets/{ticket['id']}"
        first = client.patch(url, json={"priority": "high"}, headers={"Idempotency-Key": "p"})
        second = client.patch(url, json={"priority": "low"}, headers={"Idempotency-Key": "p"})
        assert (first.json()["priority"], second.json()["priority"]) == ("high", "low")


# --- scope: the authenticated caller (issue 13, finding 5) ---------------------------------------


def test_the_authorization_scheme_in_lower_case_is_the_same_caller(sql_services: Services) -> None:
    key = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services)) as client:
        first = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k", "Authorization": f"Bearer {key}"})
        again = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k", "Authorization": f"bearer {key}"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_unauthenticated_keyed_posts_store_nothing(sql_services: Services) -> None:
    real = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")
    forged = f"ldk_{real.principal.key_id}_forged"
    with TestClient(create_app(services=sql_services)) as client:
        for n in range(30):
            auth = {} if n % 3 == 0 else {"Authorization": f"Bearer {forged if n % 3 == 1 else 'nonsense'}"}
            response = client.post("/tickets", json=NEW, headers={"Idempotency-Key": f"anon-{n}", **auth})
            assert response.status_code == 401
    assert sql_services.idempotency.kept() == 0


@pytest.fixture
def two_tenants(sql_services: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    """A client and admin keys of acme and globex, with the projections running (erasure waits for them)."""
    sql_services.start_projections()
    acme = sql_services.keys.create(actor_id="acme-admin", role=Role.ADMIN, tenant="acme").secret
    globex = sql_services.keys.create(actor_id="globex-admin", role=Role.ADMIN, tenant="globex").secret
    with TestClient(create_app(services=sql_services)) as client:
        yield client, {"Authorization": f"Bearer {acme}"}, {"Authorization": f"Bearer {globex}"}


def test_one_tenants_erasure_leaves_another_tenants_replays_intact(
    two_tenants: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, acme, globex = two_tenants
    first = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k", **acme})
    client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k", **globex})
    erased = client.post("/privacy/erasures", json={"person_id": "bob"}, headers=globex)
    assert erased.json()["responses_forgotten"] == 1
    again = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k", **acme})
    assert again.status_code == 201
    assert again.content == first.content  # the kept copy, byte for byte
    assert len(client.get("/tickets", headers=acme).json()["items"]) == 1


def test_a_retry_of_a_purged_key_is_answered_from_the_erased_ticket_and_stores_nothing(
    two_tenants: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, acme, _ = two_tenants
    body = {**NEW, "requester_email": "bob@example.org"}
    first = client.post("/tickets", json=body, headers={"Idempotency-Key": "k", **acme})
    client.post("/privacy/erasures", json={"person_id": "bob"}, headers=acme)
    again = client.post("/tickets", json=body, headers={"Idempotency-Key": "k", **acme})
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.headers["location"], again.headers["etag"]) == (first.headers["location"], first.headers["etag"])
    assert again.json()["id"] == first.json()["id"]
    assert "bob@example.org" not in again.text
    assert again.json() == client.get(first.headers["location"] + "?version=1", headers=acme).json()
    assert len(client.get("/tickets", headers=acme).json()["items"]) == 1


# --- leases: a request whose process died (issue 13, finding 9) ----------------------------------
# A crash leaves one of two states behind; these tests build each with the real store and
# recorder, as the dead request left it (the process test in test_idempotency_processes.py kills
# a real server).


def _abandoned(services: Services, key: str, request: tuple[str, str, bytes]) -> tuple[KeyScope, str]:
    """The key leased by a request that then died: its lease lapsed a minute ago."""
    principal = _principal_of(services)
    scope = KeyScope(principal.tenant, principal.key_id, key)
    method, path, body = request
    long_ago = utc_now() - timedelta(minutes=1) - services.idempotency.lease
    outcome = services.idempotency.claim(scope, _digest(method, path, "", body.hex()), long_ago)
    assert outcome.claim is Claim.RESERVED
    assert outcome.token is not None
    return scope, outcome.token


def _principal_of(services: Services) -> Principal:
    principal = services.keys.authenticate(ALICE)
    assert principal is not None
    return principal


ALICE = "set by the fixture"


@pytest.fixture
def alice(sql_services: Services) -> Iterator[TestClient]:
    global ALICE  # noqa: PLW0603 - the one key these tests act as
    ALICE = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {ALICE}"}) as client:
        yield client


def test_a_lapsed_lease_whose_request_stored_nothing_runs_the_request(
    alice: TestClient, sql_services: Services
) -> None:
    ticket = alice.post("/tickets", json=NEW).json()["id"]
    comment = json.dumps({"body": "once"}).encode()
    _abandoned(sql_services, "c", ("POST", f"/tickets/{ticket}/comments", comment))
    retry = alice.post(f"/tickets/{ticket}/comments", content=comment, headers={"Idempotency-Key": "c", **JSON})
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert _count(alice, ticket) == 2


def test_a_lapsed_lease_whose_request_stored_is_answered_with_the_first_outcome(
    alice: TestClient, sql_services: Services
) -> None:
    body = json.dumps(NEW).encode()
    scope, token = _abandoned(sql_services, "open", ("POST", "/tickets", body))
    actor = _principal_of(sql_services).actor
    with reserved(sql_services.idempotency.reservation(scope, token)):  # the command commits, then the process dies
        receipt = sql_services.desk.open_ticket(
            tenant="acme", title=NEW["title"], requester_id="bob", by=actor, via="api"
        )
    for _ in range(2):
        retry = alice.post("/tickets", content=body, headers={"Idempotency-Key": "open", **JSON})
        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["location"] == f"/tickets/{receipt.ticket_id}"
        assert retry.headers["etag"] == '"1"'
        assert retry.headers["ledgerdesk-position"] == str(receipt.position)
        assert retry.json() == alice.get(f"/tickets/{receipt.ticket_id}").json()
    assert sql_services.desk.recorder.max_notification_id() == receipt.position  # nothing stored twice


def test_a_request_that_lost_its_lease_stores_nothing(alice: TestClient, sql_services: Services) -> None:
    ticket = alice.post("/tickets", json=NEW).json()["id"]
    comment = json.dumps({"body": "late"}).encode()
    scope, stale = _abandoned(sql_services, "c", ("POST", f"/tickets/{ticket}/comments", comment))
    taken = alice.post(f"/tickets/{ticket}/comments", content=comment, headers={"Idempotency-Key": "c", **JSON})
    assert taken.status_code == 201  # a retry took the lapsed lease over and ran
    actor = _principal_of(sql_services).actor
    with reserved(sql_services.idempotency.reservation(scope, stale)), pytest.raises(LeaseLostError):
        sql_services.desk.add_comment(UUID(ticket), "late", public=True, by=actor, via="api")  # the first copy wakes up
    assert _count(alice, ticket) == 2


def test_a_live_lease_answers_in_progress(alice: TestClient, sql_services: Services) -> None:
    body = json.dumps(NEW).encode()
    principal = _principal_of(sql_services)
    scope = KeyScope(principal.tenant, principal.key_id, "busy")
    sql_services.idempotency.claim(scope, _digest("POST", "/tickets", "", body.hex()), utc_now())
    busy = alice.post("/tickets", content=body, headers={"Idempotency-Key": "busy", **JSON})
    assert busy.status_code == 409
    assert busy.json()["type"] == "urn:ledgerdesk:problem:idempotency-key-in-progress"
    assert busy.headers["retry-after"] == "1"


# --- expiry ---------------------------------------------------------------------------------------


def _scope(key: str) -> KeyScope:
    return KeyScope("acme", "key-1", key)


def test_an_expired_key_is_forgotten_but_never_while_its_lease_is_held(services: Services) -> None:
    store, now = services.idempotency, utc_now()
    past_ttl = now - timedelta(seconds=services.settings.idempotency_ttl_seconds + 60)
    running = store.claim(_scope("running"), "h", past_ttl)
    assert running.token is not None
    assert store.renew(_scope("running"), running.token, now)  # still running a whole TTL later
    assert store.claim(_scope("running"), "h", now).claim is Claim.IN_PROGRESS
    answered = store.claim(_scope("answered"), "h", past_ttl)
    assert answered.token is not None
    store.complete(_scope("answered"), answered.token, StoredResponse(201, {}, b"{}"))
    assert store.claim(_scope("answered"), "h", now).claim is Claim.RESERVED  # past the TTL: a new request


def test_keys_never_sent_again_are_swept_once_expired(services: Services) -> None:
    store, now = services.idempotency, utc_now()
    past_ttl = now - timedelta(seconds=services.settings.idempotency_ttl_seconds + 60)
    for n in range(3):
        old = store.claim(_scope(f"old-{n}"), "h", past_ttl)
        assert old.token is not None
        store.complete(_scope(f"old-{n}"), old.token, StoredResponse(201, {}, b"{}"))
    store.claim(_scope("new"), "h", now)
    assert store.kept() == 1
