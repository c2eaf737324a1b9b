"""Merging a ticket into another, and editing a title and description, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services
from infrastructure.settings import Settings

LEDGERDESK = Path(sys.executable).with_name("ledgerdesk")  # the installed command, as an operator runs it
Who = dict[str, dict[str, str]]


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, Who, Services]]:
    keys = {
        "carol": served.keys.create(actor_id="carol", role=Role.AGENT, tenant="acme").secret,
        "bob": served.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret,
        "boss": served.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret,
        "zed": served.keys.create(actor_id="zed", role=Role.AGENT, tenant="globex").secret,
    }
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}, served


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _open(client: TestClient, who: Who, title: str) -> str:
    body = {"title": title, "requester_id": "bob"}
    ticket_id: str = _ok(client.post("/tickets", json=body, headers=who["carol"]), 201)["id"]
    return ticket_id


def _merged_pair(client: TestClient, who: Who) -> tuple[str, str, list[dict[str, Any]]]:
    """A source with a reply by bob (by e-mail) and a note by carol (by phone), merged into a target."""
    source, target = _open(client, who, "VPN down"), _open(client, who, "No VPN since 9:00")
    _ok(client.post(f"/tickets/{target}/comments", json={"body": "Looking"}, headers=who["carol"]), 201)
    by_mail = {**who["bob"], "Ledgerdesk-Channel": "email"}
    attachment = {"name": "error.png", "size": 2048, "content_type": "image/png"}
    reply = {"body": "It says error 809", "attachments": [attachment]}
    _ok(client.post(f"/tickets/{source}/comments", json=reply, headers=by_mail), 201)
    by_phone = {**who["carol"], "Ledgerdesk-Channel": "phone"}
    note = {"body": "Same outage as the other", "public": False}
    written = _ok(client.post(f"/tickets/{source}/comments", json=note, headers=by_phone), 201)["comments"]
    merge = {"into": target, "reason": "one outage"}
    merged = _ok(client.post(f"/tickets/{source}/merge", json=merge, headers=who["carol"]))
    assert (merged["status"], merged["status_category"], merged["merged_into"]) == ("closed", "closed", target)
    return source, target, written


def test_a_merge_copies_the_comments_with_their_authors_times_and_channels(api: Any) -> None:
    client, who, _ = api
    source, target, written = _merged_pair(client, who)

    taken = _ok(client.get(f"/tickets/{target}", headers=who["carol"]))
    assert taken["merged_sources"] == [source]
    own, *copies = taken["comments"]
    assert (own["body"], own["origin"]) == ("Looking", None)
    assert [(c["number"], c["author_id"], c["author_kind"], c["public"], c["body"]) for c in copies] == [
        (2, "bob", "requester", True, "It says error 809"),
        (3, "carol", "agent", False, "Same outage as the other"),
    ]
    assert [c["created_at"] for c in copies] == [c["created_at"] for c in written]
    assert [c["origin"] for c in copies] == [
        {"ticket_id": source, "number": 1, "via": "email"},
        {"ticket_id": source, "number": 2, "via": "phone"},
    ]
    assert copies[0]["attachments"] == [{"name": "error.png", "size": 2048, "content_type": "image/png"}]
    bobs_view = _ok(client.get(f"/tickets/{target}", headers=who["bob"]))  # the requester sees replies only
    assert [c["number"] for c in bobs_view["comments"]] == [1, 2]

    gone = _ok(client.get(f"/tickets/{source}", headers=who["carol"]))
    assert (gone["status"], gone["merged_into"], len(gone["comments"])) == ("closed", target, 2)
    source_history = _ok(client.get(f"/tickets/{source}/history", headers=who["carol"]))["items"]
    assert [e["event"] for e in source_history] == ["Opened", "CommentAdded", "CommentAdded", "MergedInto"]
    assert source_history[-1]["changes"] == [
        {"field": "status", "old": "new", "new": "closed"},
        {"field": "merged_into", "old": None, "new": target},
        {"field": "merge_reason", "old": None, "new": "one outage"},
    ]
    merged = _ok(client.get(f"/tickets/{target}/history", headers=who["carol"]))["items"][-1]
    assert merged["event"] == "Merged"
    assert [c["field"] for c in merged["changes"]] == ["merged_sources", "merge_reason", "comments.2", "comments.3"]
    assert merged["changes"][2]["new"] == {
        "kind": "public_reply",
        "body": "It says error 809",
        "author_id": "bob",
        "at": written[0]["created_at"],
        "origin": {"ticket_id": source, "number": 1, "via": "email"},
    }
    assert merged["position"] == source_history[-1]["position"] + 1  # saved together, the source's event first


def test_a_merged_ticket_refuses_changes_and_the_read_model_counts_the_copies(api: Any) -> None:
    client, who, _ = api
    source, target, _ = _merged_pair(client, who)

    refused = client.post(f"/tickets/{source}/comments", json={"body": "one more"}, headers=who["carol"])
    assert (refused.status_code, refused.json()["type"]) == (409, "urn:ledgerdesk:problem:ticket-closed")
    assert target in refused.json()["detail"]
    again = client.post(f"/tickets/{source}/merge", json={"into": target}, headers=who["carol"])
    assert again.status_code == 409

    head = client.get(f"/tickets/{target}", headers=who["carol"]).json()["version"]
    assert head == 3  # opened, commented, merged
    position = _ok(client.get(f"/tickets/{target}/history", headers=who["carol"]))["items"][-1]["position"]
    listed = _ok(
        client.get(
            "/tickets", params={"status_category": ["closed", "new"], "min_position": position}, headers=who["carol"]
        )
    )
    rows = {row["id"]: row for row in listed["items"]}
    assert (rows[source]["status"], rows[source]["status_category"]) == ("closed", "closed")
    assert (rows[target]["public_comments"], rows[target]["internal_notes"]) == (2, 1)


def test_a_refused_merge_stores_nothing(api: Any) -> None:
    client, who, services = api
    source, target = _open(client, who, "Printer jam"), _open(client, who, "Printer again")
    closed = _open(client, who, "Old printer")
    for state in ("solved", "closed"):
        _ok(client.post(f"/tickets/{closed}/transitions", json={"to": state}, headers=who["carol"]))
    foreign = _ok(client.post("/tickets", json={"title": "x", "requester_id": "y"}, headers=who["zed"]), 201)["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    head = services.desk.recorder.max_notification_id()

    def merge(ticket: str, into: str, caller: str = "carol") -> Any:
        return client.post(f"/tickets/{ticket}/merge", json={"into": into}, headers=who[caller])

    itself = merge(source, source)
    assert (itself.status_code, itself.json()["type"]) == (422, "urn:ledgerdesk:problem:invalid-value")
    into_closed = merge(source, closed)
    assert (into_closed.status_code, into_closed.json()["type"]) == (409, "urn:ledgerdesk:problem:ticket-closed")
    from_closed = merge(closed, target)
    assert (from_closed.status_code, from_closed.json()["type"]) == (409, "urn:ledgerdesk:problem:ticket-closed")
    other_tenant, nowhere = merge(source, foreign), merge(source, missing)
    assert other_tenant.status_code == nowhere.status_code == 422  # another tenant's ticket is as absent as none
    assert other_tenant.json()["detail"] == f"no ticket {foreign} to merge into"
    assert merge(foreign, target, "zed").status_code == 422  # the same from the other side
    assert merge(source, foreign, "zed").status_code == 404  # and another tenant's ticket in the path is not found
    assert merge(source, target, "bob").status_code == 403  # customers do not merge
    assert client.post(f"/tickets/{source}/merge", json={}, headers=who["carol"]).status_code == 422

    assert services.desk.recorder.max_notification_id() == head
    assert _ok(client.get(f"/tickets/{source}", headers=who["carol"]))["merged_into"] is None


def test_the_audit_chain_verifies_after_a_merge(api: Any, sql_settings: Settings) -> None:
    client, who, services = api
    _merged_pair(client, who)

    assert AuditLog(services.desk).verify().ok
    assert _ok(client.get("/audit/verify", headers=who["boss"]))["ok"] is True
    env = {"LEDGERDESK_DATABASE_URL": sql_settings.database_url}
    if sql_settings.postgres_schema:
        env["LEDGERDESK_POSTGRES_SCHEMA"] = sql_settings.postgres_schema
    done = subprocess.run(
        [str(LEDGERDESK), "audit", "verify"], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK"), done.stdout


def test_a_patch_retitles_and_redescribes_old_to_new_and_lists_the_new_title(api: Any) -> None:
    client, who, _ = api
    ticket = _open(client, who, "Printr broken")
    patch = {"title": "Printer broken on floor 3", "description": "Paper jam, then smoke"}

    changed = client.patch(f"/tickets/{ticket}", json=patch, headers=who["carol"])
    same = _ok(client.patch(f"/tickets/{ticket}", json=patch, headers=who["carol"]))

    body = _ok(changed)
    assert (body["title"], body["description"], body["version"]) == (*patch.values(), 3)
    assert same["version"] == 3  # unchanged values record nothing
    history = _ok(client.get(f"/tickets/{ticket}/history", headers=who["carol"]))["items"]
    assert [(e["event"], e["changes"]) for e in history[-2:]] == [
        ("TitleChanged", [{"field": "title", "old": "Printr broken", "new": "Printer broken on floor 3"}]),
        ("DescriptionChanged", [{"field": "description", "old": "", "new": "Paper jam, then smoke"}]),
    ]
    listed = _ok(
        client.get("/tickets", params={"min_position": changed.headers["ledgerdesk-position"]}, headers=who["carol"])
    )
    assert [row["title"] for row in listed["items"] if row["id"] == ticket] == ["Printer broken on floor 3"]
    found = _ok(client.get("/tickets", params={"q": "floor 3"}, headers=who["carol"]))
    assert [row["id"] for row in found["items"]] == [ticket]
    assert client.patch(f"/tickets/{ticket}", json={"title": ""}, headers=who["carol"]).status_code == 422
    assert client.patch(f"/tickets/{ticket}", json={"title": "Mine"}, headers=who["bob"]).status_code == 403
