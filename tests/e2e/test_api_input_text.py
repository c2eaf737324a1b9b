"""Text no person types is refused at the edge, and by the domain, before anything is stored.

A NUL once stored stopped every tenant's read models (PostgreSQL cannot hold it in text or
jsonb) and made `GET /tickets?q=a%00b` answer 500. Through the real app on SQLite and
PostgreSQL: each such string in a body, a query, a path or a header gets 422 problem+json
naming the field, and the log holds no new event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from domain.values import ATTACHMENT_SIZE_MAX, NUMBER_MAX, FieldValue
from infrastructure.composition import Services

PROBLEM = "application/problem+json"
#: NUL (PostgreSQL cannot store it), other C0 controls, and a lone surrogate (not Unicode).
BAD = ["a\x00b", "a\x01b", "a\x1bb", "a\x0bb", "a\ud800b"]
BAD_IDS = ["nul", "soh", "esc", "vt", "surrogate"]
#: What people do type: tab, line breaks (CR LF from browsers and mail), any other Unicode.
GOOD = "Line one\r\nline two\tand \u00e9\u4e2d\U0001f600"
ALICE = Actor("alice", ActorKind.AGENT)


@pytest.fixture
def admin(sql_services: Services) -> Iterator[TestClient]:
    """An admin's client (erasures are for admins)."""
    key = sql_services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client


def _head(services: Services) -> int:
    """The position of the last stored event (0 when none)."""
    return services.desk.recorder.max_notification_id() or 0


def _refused(response: Any, field: str) -> None:
    """A 422 problem whose detail names `field`."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert field in response.json()["detail"], response.json()


def _post_json(client: TestClient, url: str, body: dict[str, Any], **headers: str) -> Any:
    # json.dumps escapes a lone surrogate as \ud800, which the server's JSON parser reads back as one.
    return client.post(url, content=json.dumps(body), headers={"Content-Type": "application/json", **headers})


def _ticket(client: TestClient) -> str:
    opened = client.post("/tickets", json={"title": "Printer", "requester_id": "bob"})
    assert opened.status_code == 201, opened.text
    ticket_id: str = opened.json()["id"]
    return ticket_id


@pytest.mark.parametrize("bad", BAD, ids=BAD_IDS)
@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("title", lambda bad: {"title": bad, "requester_id": "bob"}),
        ("description", lambda bad: {"title": "t", "description": bad, "requester_id": "bob"}),
        ("requester_name", lambda bad: {"title": "t", "requester_id": "bob", "requester_name": bad}),
        ("requester_id", lambda bad: {"title": "t", "requester_id": bad}),
        ("custom_fields", lambda bad: {"title": "t", "requester_id": "bob", "custom_fields": {bad: _text("x")}}),
        ("value", lambda bad: {"title": "t", "requester_id": "bob", "custom_fields": {"note": _text(bad)}}),
    ],
    ids=["title", "description", "requester_name", "requester_id", "field-name", "text-field"],
)
def test_opening_a_ticket_with_unstorable_text_is_refused(
    client: TestClient, sql_services: Services, bad: str, field: str, body: Any
) -> None:
    head = _head(sql_services)
    _refused(_post_json(client, "/tickets", body(bad)), field)
    assert _head(sql_services) == head


def _text(value: str) -> dict[str, str]:
    return {"kind": "text", "value": value}


@pytest.mark.parametrize("bad", BAD, ids=BAD_IDS)
def test_comments_patches_and_attachments_with_unstorable_text_are_refused(
    client: TestClient, sql_services: Services, bad: str
) -> None:
    url = f"/tickets/{_ticket(client)}"
    head = _head(sql_services)
    _refused(_post_json(client, f"{url}/comments", {"body": bad}), "body")
    attachment = {"name": bad, "size": 1}
    _refused(_post_json(client, f"{url}/comments", {"body": "b", "attachments": [attachment]}), "name")
    patch = json.dumps({"custom_fields": {"note": _text(bad)}})
    _refused(client.patch(url, content=patch, headers={"Content-Type": "application/json"}), "value")
    _refused(_post_json(client, f"{url}/assignment", {"assignee": bad}), "assignee")
    assert _head(sql_services) == head


@pytest.mark.parametrize("bad", BAD, ids=BAD_IDS)
@pytest.mark.parametrize("where", ["q", "requester_id", "organisation"])
def test_saved_view_filters_with_unstorable_text_are_refused(
    client: TestClient, sql_services: Services, bad: str, where: str
) -> None:
    head = _head(sql_services)
    _refused(_post_json(client, "/views", {"name": "mine", "filters": {where: bad}}), where)
    assert _head(sql_services) == head


# A URL cannot carry a lone surrogate: it is sent as UTF-8, which has none.
@pytest.mark.parametrize("bad", BAD[:4], ids=BAD_IDS[:4])
@pytest.mark.parametrize(
    "parameter", ["q", "requester_id", "organisation", "channel", "type", "tag", "group", "assignee", "after"]
)
def test_string_query_parameters_with_unstorable_text_are_refused(client: TestClient, bad: str, parameter: str) -> None:
    # `GET /tickets?q=a%00b` answered 500: the NUL reached PostgreSQL in the search's LIKE pattern.
    _refused(client.get("/tickets", params={parameter: bad}), parameter)
    if parameter != "assignee":  # the unassigned queue has no assignee filter
        _refused(client.get("/queues/unassigned", params={parameter: bad}), parameter)


@pytest.mark.parametrize("bad", BAD[:4], ids=BAD_IDS[:4])
def test_path_parameters_with_unstorable_text_are_refused(client: TestClient, bad: str) -> None:
    sent = quote(bad)
    _refused(client.get(f"/queues/groups/{sent}"), "group")
    _refused(client.get(f"/queues/assignees/{sent}"), "agent")
    _refused(client.get(f"/agents/{sent}/workload"), "agent")


# Header values cannot hold NUL, CR or LF at all (HTTP forbids them); other controls reach the app.
@pytest.mark.parametrize("bad", ["a\x01b", "a\x1bb", "a\x0bb"], ids=["soh", "esc", "vt"])
def test_headers_with_control_characters_are_refused(client: TestClient, sql_services: Services, bad: str) -> None:
    url = f"/tickets/{_ticket(client)}"
    head = _head(sql_services)
    comment = {"body": "hello"}
    channel = _post_json(client, f"{url}/comments", comment, **{"Ledgerdesk-Channel": bad})
    _refused(channel, "channel")
    keyed = _post_json(client, f"{url}/comments", comment, **{"Idempotency-Key": bad})
    _refused(keyed, "Idempotency-Key")
    _refused(_post_json(client, f"{url}/comments", comment, **{"If-Match": f'"1"{bad}'}), "if-match")
    assert _head(sql_services) == head


@pytest.mark.parametrize("bad", BAD, ids=BAD_IDS)
def test_an_erasure_of_an_unstorable_person_id_is_refused(admin: TestClient, sql_services: Services, bad: str) -> None:
    # It answered 500: the id reached the database's queries.
    head = _head(sql_services)
    _refused(_post_json(admin, "/privacy/erasures", {"person_id": bad}), "person_id")
    assert _head(sql_services) == head


def test_what_people_type_is_kept_as_typed(client: TestClient) -> None:
    opened = _post_json(
        client,
        "/tickets",
        {"title": "Printer", "description": GOOD, "requester_id": "bob", "custom_fields": {"note": _text(GOOD)}},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["description"] == GOOD
    assert opened.json()["custom_fields"]["note"]["value"] == GOOD
    commented = _post_json(client, f"/tickets/{opened.json()['id']}/comments", {"body": GOOD})
    assert commented.json()["comments"][-1]["body"] == GOOD
    assert client.get("/tickets", params={"q": "Printer\t"}).status_code == 200


@pytest.mark.parametrize("bad", BAD, ids=BAD_IDS)
def test_the_domain_refuses_unstorable_text_from_any_client(services: Services, bad: str) -> None:
    """The CLI and every other client of HelpDesk meet the same rule; nothing is stored."""
    desk = services.desk
    head = _head(services) if services.settings.database_url != "memory://" else None
    with pytest.raises(InvalidValueError, match="title"):
        desk.open_ticket(tenant="acme", title=bad, requester_id="bob", by=ALICE, via="api")
    with pytest.raises(InvalidValueError, match="description"):
        desk.open_ticket(tenant="acme", title="t", description=bad, requester_id="bob", by=ALICE, via="api")
    with pytest.raises(InvalidValueError, match="custom field"):
        FieldValue.parse("text", bad)
    with pytest.raises(InvalidValueError, match="filters"):
        desk.save_view(tenant="acme", name="mine", filters={"tag": ["ok", bad]}, by=ALICE, via="api")
    with pytest.raises(InvalidValueError, match="filters"):
        desk.save_view(tenant="acme", name="mine", filters={bad: "x"}, by=ALICE, via="api")
    receipt = desk.open_ticket(tenant="acme", title="t", requester_id="bob", by=ALICE, via="api")
    with pytest.raises(InvalidValueError, match="comment body"):
        desk.add_comment(receipt.ticket_id, bad, public=True, by=ALICE, via="api", tenant="acme")
    if head is not None:
        assert _head(services) == receipt.position


# --- numbers and sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, str(NUMBER_MAX + 1), "1e16"],
    ids=["1e309", "-1e309", "nan", "inf", "-inf", "10^400", "2^53", "1e16"],
)
def test_a_number_custom_field_beyond_the_bound_is_refused(
    client: TestClient, sql_services: Services, number: str
) -> None:
    # 1e309 and a 400-digit integer answered 500 (math.isfinite of a huge int raises OverflowError).
    head = _head(sql_services)
    body = '{"title": "t", "requester_id": "bob", "custom_fields": {"cost": {"kind": "number", "value": %s}}}'
    response = client.post("/tickets", content=body % number, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert _head(sql_services) == head


def test_numbers_within_the_bound_are_kept(client: TestClient) -> None:
    fields = {"big": {"kind": "number", "value": NUMBER_MAX}, "small": {"kind": "number", "value": -1.5e-300}}
    opened = client.post("/tickets", json={"title": "t", "requester_id": "bob", "custom_fields": fields})
    assert opened.status_code == 201, opened.text
    assert opened.json()["custom_fields"]["big"]["value"] == NUMBER_MAX


@pytest.mark.parametrize("size", [-1, ATTACHMENT_SIZE_MAX + 1, 2**63, 2**70])
def test_an_attachment_size_out_of_bounds_is_refused(client: TestClient, sql_services: Services, size: int) -> None:
    url = f"/tickets/{_ticket(client)}"
    head = _head(sql_services)
    attachment = {"name": "a.pdf", "size": size}
    _refused(client.post(f"{url}/comments", json={"body": "b", "attachments": [attachment]}), "size")
    assert _head(sql_services) == head


def test_an_attachment_of_one_gibibyte_is_accepted(client: TestClient) -> None:
    url = f"/tickets/{_ticket(client)}"
    attachment = {"name": "a.iso", "size": ATTACHMENT_SIZE_MAX}
    assert client.post(f"{url}/comments", json={"body": "b", "attachments": [attachment]}).status_code == 201
