"""The REST API through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

PROBLEM = "application/problem+json"
NEW_TICKET = {
    "title": "Laptop will not boot",
    "description": "Black screen after the update.",
    "requester_id": "bob",
    "organisation": "acme-sales",
    "channel": "phone",
    "priority": "high",
    "type": "incident",
    "tags": ["hardware", "laptop"],
    "custom_fields": {"asset": {"kind": "text", "value": "LT-0042"}, "due": {"kind": "date", "value": "2026-12-01"}},
}


def _open(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/tickets", json={**NEW_TICKET, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:ledgerdesk:problem:{slug}"
    assert body["detail"]
    return body


def test_open_a_ticket(client: TestClient) -> None:
    response = client.post("/tickets", json=NEW_TICKET)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/tickets/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert int(response.headers["ledgerdesk-position"]) >= 1
    assert body["status"] == "new"
    assert body["channel"] == "phone"
    assert body["tenant"] == "acme"
    assert body["custom_fields"]["due"] == {"kind": "date", "value": "2026-12-01"}

    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == '"1"'


def test_customers_open_tickets_as_themselves(client: TestClient, sql_services: Services) -> None:
    key = sql_services.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret
    as_bob = {"Authorization": f"Bearer {key}"}
    minimal = {"title": "Where is my invoice?"}
    response = client.post("/tickets", json=minimal, headers=as_bob)
    assert response.status_code == 201
    assert response.json()["requester_id"] == "bob"
    history = client.get(f"/tickets/{response.json()['id']}/history").json()
    assert history["items"][0]["actor"] == {"id": "bob", "kind": "requester", "role": "customer"}

    someone_else = client.post("/tickets", json={**minimal, "requester_id": "eve"}, headers=as_bob)
    _assert_problem(someone_else, 403, "not-permitted")


def test_a_full_tour(client: TestClient) -> None:
    ticket = _open(client)
    url = f"/tickets/{ticket['id']}"
    headers = {"Ledgerdesk-Channel": "web"}

    assigned = client.post(f"{url}/assignment", json={"assignee": "carol", "group": "it"}, headers=headers)
    assert assigned.status_code == 200
    assert (assigned.json()["assignee"], assigned.json()["group"]) == ("carol", "it")
    assert client.post(f"{url}/transitions", json={"to": "open"}).json()["status"] == "open"

    commented = client.post(f"{url}/comments", json={"body": "@carol please check @dave's notes", "public": False})
    assert commented.status_code == 201
    assert commented.json()["comments"][0]["mentions"] == ["carol", "dave"]

    patched = client.patch(
        url,
        json={"priority": "urgent", "type": None, "add_tags": ["vip"], "custom_fields": {"asset": None}},
    )
    assert patched.status_code == 200
    body = patched.json()
    assert (body["priority"], body["type"], body["tags"]) == ("urgent", None, ["hardware", "laptop", "vip"])
    assert "asset" not in body["custom_fields"]

    unassigned = client.delete(f"{url}/assignment")
    assert (unassigned.json()["assignee"], unassigned.json()["group"]) == (None, "it")

    history = client.get(f"{url}/history").json()["items"]
    assert [h["event"] for h in history] == [
        "Opened",
        "Assigned",
        "Transitioned",
        "CommentAdded",
        "PriorityChanged",
        "TypeChanged",
        "TagsChanged",
        "CustomFieldChanged",
        "Unassigned",
    ]
    assert history[1]["via"] == "web"
    assert history[1]["actor"] == {"id": "alice", "kind": "agent", "role": "agent"}
    assert {"field": "assignee", "old": None, "new": "carol"} in history[1]["changes"]
    assert history[4]["changes"] == [{"field": "priority", "old": "high", "new": "urgent"}]
    assert history[0]["via"] == "phone"


def test_as_of_version_and_moment(client: TestClient) -> None:
    ticket = _open(client)
    url = f"/tickets/{ticket['id']}"
    client.post(f"{url}/assignment", json={"assignee": "carol"})
    client.post(f"{url}/assignment", json={"assignee": "erin"})
    history = client.get(f"{url}/history").json()["items"]

    at_two = client.get(url, params={"version": 2})
    assert at_two.json()["assignee"] == "carol"
    assert at_two.headers["etag"] == '"2"'
    assert client.get(url, params={"as_of": history[1]["at"]}).json()["assignee"] == "carol"
    assert client.get(url).json()["assignee"] == "erin"

    _assert_problem(client.get(url, params={"version": 9}), 404, "not-found")
    _assert_problem(client.get(url, params={"as_of": "2000-01-01T00:00:00Z"}), 404, "not-found")
    _assert_problem(client.get(url, params={"as_of": "2026-01-01T00:00:00"}), 422, "invalid-value")
    _assert_problem(client.get(url, params={"version": 1, "as_of": history[0]["at"]}), 422, "invalid-value")
    _assert_problem(client.get(url, params={"version": 0}), 422, "invalid-request")


def test_if_match(client: TestClient) -> None:
    ticket = _open(client)
    url = f"/tickets/{ticket['id']}"
    ok = client.post(f"{url}/assignment", json={"assignee": "carol"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'

    stale = client.post(f"{url}/assignment", json={"assignee": "erin"}, headers={"If-Match": '"1"'})
    _assert_problem(stale, 412, "version-mismatch")
    malformed = client.post(f"{url}/transitions", json={"to": "open"}, headers={"If-Match": "yesterday"})
    _assert_problem(malformed, 400, "malformed-if-match")
    assert len(client.get(f"{url}/history").json()["items"]) == 2


def _patch(client: TestClient, url: str, if_match: str | list[tuple[str, str]]) -> Any:
    """A harmless command with the given If-Match (a list of pairs sends several header lines)."""
    headers = [("If-Match", if_match)] if isinstance(if_match, str) else if_match
    return client.request("PATCH", url, json={"add_tags": [f"t{len(str(if_match))}"]}, headers=headers)


@pytest.mark.parametrize(
    "if_match",
    ['"3', "3", '"3" "2"', '*, "2"', 'W/ "2"', 'w/"2"', '"2";', "'2'", '"a b"', ",", "**"],
)
def test_a_malformed_if_match_is_400_and_stores_nothing(client: TestClient, if_match: str) -> None:
    # It was 412, as if `3` named a version that is not current.
    url = f"/tickets/{_open(client)['id']}"
    body = _assert_problem(_patch(client, url, if_match), 400, "malformed-if-match")
    assert "If-Match" in body["detail"]
    assert client.get(url).headers["etag"] == '"1"'


@pytest.mark.parametrize(
    "if_match",
    [
        '"1"',
        ' \t"1" ',
        "*",
        '"7", "1"',
        '"1","7"',
        'W/"1", "1"',
        ', "7" ,, "1",',
        [("If-Match", '"7"'), ("If-Match", '"1"')],
    ],
)
def test_if_match_matches_the_current_etag_in_a_list_or_as_a_star(
    client: TestClient, if_match: str | list[tuple[str, str]]
) -> None:
    url = f"/tickets/{_open(client)['id']}"
    changed = _patch(client, url, if_match)
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'


@pytest.mark.parametrize("if_match", ['W/"1"', '"01"', '"7", "8"', '"abc"', '""', 'W/"1", W/"2"'])
def test_if_match_compares_strongly_and_a_tag_that_names_no_current_version_is_412(
    client: TestClient, if_match: str
) -> None:
    # RFC 9110: If-Match uses the strong comparison, so a weak tag never matches, not even the current one.
    url = f"/tickets/{_open(client)['id']}"
    body = _assert_problem(_patch(client, url, if_match), 412, "version-mismatch")
    assert '"1"' in body["detail"] or "version is 1" in body["detail"]
    assert client.get(url).headers["etag"] == '"1"'


def test_a_precondition_on_a_missing_ticket_is_not_found(client: TestClient) -> None:
    missing = "/tickets/00000000-0000-4000-8000-000000000000"
    for if_match in ('W/"1"', '"1", "2"', "*"):
        _assert_problem(_patch(client, missing, if_match), 404, "not-found")


def test_the_server_sends_strong_etags(client: TestClient) -> None:
    opened = client.post("/tickets", json=NEW_TICKET)
    url = opened.headers["location"]
    commented = client.post(f"{url}/comments", json={"body": "hi"})
    for response in (opened, client.get(url), commented, client.get(url, params={"version": 1})):
        assert response.headers["etag"].startswith('"'), response.headers["etag"]


def test_errors_are_problems(client: TestClient) -> None:
    ticket = _open(client)
    url = f"/tickets/{ticket['id']}"
    missing = "/tickets/00000000-0000-4000-8000-000000000000"

    _assert_problem(client.get(missing), 404, "not-found")
    _assert_problem(client.post(f"{missing}/comments", json={"body": "hi"}), 404, "not-found")
    _assert_problem(client.get("/tickets/not-a-uuid"), 422, "invalid-request")
    _assert_problem(client.post(f"{url}/transitions", json={"to": "closed"}), 409, "illegal-transition")
    _assert_problem(client.post(f"{url}/transitions", json={"to": "archived"}), 422, "invalid-value")  # no such state
    _assert_problem(client.post("/tickets", json={**NEW_TICKET, "colour": "red"}), 422, "invalid-request")
    _assert_problem(client.post("/tickets", json={**NEW_TICKET, "title": ""}), 422, "invalid-request")
    _assert_problem(client.post("/tickets", json={**NEW_TICKET, "tags": ["Not A Slug"]}), 422, "invalid-value")
    _assert_problem(client.post("/tickets", json={**NEW_TICKET, "requester_id": None}), 422, "invalid-value")
    bad_date = {"due": {"kind": "date", "value": "next week"}}
    _assert_problem(client.post("/tickets", json={**NEW_TICKET, "custom_fields": bad_date}), 422, "invalid-request")
    _assert_problem(client.post(f"{url}/assignment", json={}), 422, "invalid-value")
    _assert_problem(client.patch(url, json={}), 422, "invalid-value")
    _assert_problem(
        client.post(f"{url}/comments", json={"body": "x"}, headers={"Ledgerdesk-Channel": "Fax!"}), 422, "invalid-value"
    )
    _assert_problem(client.get("/no-such-route"), 404, "not-found")
    invalid = client.post("/tickets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert _assert_problem(invalid, 422, "invalid-request")["errors"]
    assert len(client.get(f"{url}/history").json()["items"]) == 1


def test_closed_tickets_are_final(client: TestClient) -> None:
    url = f"/tickets/{_open(client)['id']}"
    client.post(f"{url}/transitions", json={"to": "solved"})
    client.post(f"{url}/transitions", json={"to": "closed"})
    _assert_problem(client.post(f"{url}/comments", json={"body": "one more thing"}), 409, "ticket-closed")
    _assert_problem(client.post(f"{url}/transitions", json={"to": "open"}), 409, "ticket-closed")


def test_authentication_is_required(client: TestClient, sql_services: Services) -> None:
    with TestClient(create_app(services=sql_services)) as anonymous:
        missing = anonymous.get("/tickets/00000000-0000-4000-8000-000000000000")
        _assert_problem(missing, 401, "unauthorized")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = anonymous.post("/tickets", json=NEW_TICKET, headers={"Authorization": "Bearer ldk_nope"})
        _assert_problem(wrong, 401, "unauthorized")
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert "/tickets/{ticket_id}/history" in anonymous.get("/openapi.json").json()["paths"]


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_racing_requests_lose_nothing_and_duplicate_nothing(client: TestClient) -> None:
    url = f"/tickets/{_open(client)['id']}"
    writers = 16
    barrier = threading.Barrier(writers)
    results: dict[str, int] = {}
    lock = threading.Lock()

    def assign(n: int) -> None:
        barrier.wait()
        response = client.post(f"{url}/assignment", json={"assignee": f"agent{n}"})
        with lock:
            results[f"agent{n}"] = response.status_code

    threads = [threading.Thread(target=assign, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Losers of a race are carried out again on the winner's version: everyone's assignment is stored, in turn.
    assert set(results.values()) == {200}
    history = client.get(f"{url}/history").json()["items"]
    recorded = [change["new"] for entry in history[1:] for change in entry["changes"] if change["field"] == "assignee"]
    assert sorted(recorded) == sorted(results)
    assert [entry["version"] for entry in history] == list(range(1, writers + 2))


def test_history_positions_and_diff(client: TestClient) -> None:
    url = f"/tickets/{_open(client)['id']}"
    client.post(f"{url}/assignment", json={"assignee": "carol"})
    client.post(f"{url}/comments", json={"body": "noted", "public": False})
    client.patch(url, json={"priority": "low"})
    history = client.get(f"{url}/history").json()["items"]
    positions = [entry["position"] for entry in history]
    assert positions == sorted(positions)
    assert all(len(entry["chain_hash"]) == 64 for entry in history)

    diff = client.get(f"{url}/diff", params={"from_version": 1, "to_version": 4})
    assert diff.status_code == 200
    assert diff.json()["changes"] == [
        {"field": "priority", "old": "high", "new": "low"},
        {"field": "assignee", "old": None, "new": "carol"},
        {"field": "comments.1", "old": None, "new": {"public": False, "body": "noted"}},
    ]
    assert client.get(f"{url}/diff", params={"from_version": 1, "to_version": 9}).status_code == 404
    assert client.get(f"{url}/diff", params={"from_version": 0, "to_version": 2}).status_code == 422


def test_another_tenants_ticket_does_not_exist(client: TestClient, sql_services: Services) -> None:
    ticket = _open(client, title="Acme secret project")
    url = f"/tickets/{ticket['id']}"
    stranger = sql_services.keys.create(actor_id="zed", role=Role.AGENT, tenant="globex").secret
    as_stranger = {"Authorization": f"Bearer {stranger}"}
    attempts = [
        ("GET", url, None),
        ("GET", f"{url}?version=1", None),
        ("GET", f"{url}?as_of={ticket['created_at']}", None),
        ("GET", f"{url}/history", None),
        ("GET", f"{url}/diff?from_version=1&to_version=1", None),
        ("POST", f"{url}/assignment", {"assignee": "zed"}),
        ("DELETE", f"{url}/assignment", None),
        ("POST", f"{url}/transitions", {"to": "open"}),
        ("POST", f"{url}/comments", {"body": "hello"}),
        ("PATCH", url, {"priority": "low"}),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=as_stranger)
        assert response.status_code == 404, (method, path, response.text)
        assert "secret" not in response.text
    assert len(client.get(f"{url}/history").json()["items"]) == 1


def test_a_revoked_key_is_refused(client: TestClient, sql_services: Services) -> None:
    issued = sql_services.keys.create(actor_id="temp", role=Role.AGENT, tenant="acme")
    auth = {"Authorization": f"Bearer {issued.secret}"}
    assert client.post("/tickets", json=NEW_TICKET, headers=auth).status_code == 201
    assert sql_services.keys.revoke(issued.principal.key_id)
    _assert_problem(client.post("/tickets", json=NEW_TICKET, headers=auth), 401, "unauthorized")


def test_head_answers_wherever_get_does(client: TestClient) -> None:
    # It was 405, while `Allow` named HEAD.
    ticket = _open(client)
    for url in (f"/tickets/{ticket['id']}", f"/tickets/{ticket['id']}/history", "/tickets", "/healthz", "/"):
        got, head = client.get(url), client.head(url)
        assert head.status_code == got.status_code == 200, url
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    assert client.head(f"/tickets/{ticket['id']}").headers["etag"] == '"1"'


def test_head_is_authenticated_and_refused_like_get(client: TestClient) -> None:
    ticket = _open(client)
    url = f"/tickets/{ticket['id']}"
    unauthenticated = client.head(url, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    assert unauthenticated.content == b""
    assert client.head("/tickets/00000000-0000-4000-8000-000000000000").status_code == 404
    not_here = client.head(f"{url}/rating")  # POST only
    assert not_here.status_code == 405
    assert not_here.headers["allow"] == "POST"
    assert all("head" not in methods for methods in client.get("/openapi.json").json()["paths"].values())


def test_the_root_points_to_the_docs_without_a_key(client: TestClient) -> None:
    root = client.get("/", headers={"Authorization": ""})
    assert root.status_code == 200
    links = root.json()
    assert (links["docs"], links["openapi"]) == ("/docs", "/openapi.json")
    for link in (links["docs"], links["redoc"], links["openapi"], links["health"]):
        assert client.get(link, headers={"Authorization": ""}).status_code == 200, link
