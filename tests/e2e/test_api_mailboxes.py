"""Mailboxes over REST on SQLite and PostgreSQL: configure, list, read, remove; set-aside mail; known senders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services
from tests.support.mail import mail, mail_server, send

Headers = dict[str, str]


@pytest.fixture
def api(sql_services: Services) -> Iterator[tuple[TestClient, Headers, Headers, Headers]]:
    """The app, with an admin of acme, an agent of acme and an admin of another tenant."""
    keys = sql_services.keys
    admin = {"Authorization": f"Bearer {keys.create(actor_id='root', role=Role.ADMIN, tenant='acme').secret}"}
    agent = {"Authorization": f"Bearer {keys.create(actor_id='alice', role=Role.AGENT, tenant='acme').secret}"}
    other = {"Authorization": f"Bearer {keys.create(actor_id='eve', role=Role.ADMIN, tenant='globex').secret}"}
    with TestClient(create_app(services=sql_services)) as client:
        yield client, admin, agent, other


def test_admins_configure_list_read_and_remove_mailboxes(api: tuple[TestClient, Headers, Headers, Headers]) -> None:
    client, admin, agent, other = api
    body = {"admit_unknown_senders": True, "language": "zh-CN"}
    put = client.put("/mailboxes/Help@Desk.example", json=body, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json() == {
        "address": "help@desk.example",
        "group": None,
        "admit_unknown_senders": True,
        "language": "zh-CN",
    }
    assert client.get("/mailboxes", headers=admin).json()["items"] == [put.json()]
    assert client.get("/mailboxes/help@desk.example", headers=admin).json() == put.json()
    assert client.put("/mailboxes/help@desk.example", json=body, headers=other).status_code == 409
    assert client.get("/mailboxes/help@desk.example", headers=other).status_code == 404
    assert client.get("/mailboxes", headers=agent).status_code == 403
    assert client.put("/mailboxes/help@desk.example", json={"group": "no such"}, headers=admin).status_code == 422
    assert client.put("/mailboxes/help@desk.example", json={"extra": 1}, headers=admin).status_code == 422
    assert client.delete("/mailboxes/help@desk.example", headers=admin).status_code == 204
    assert client.get("/mailboxes/help@desk.example", headers=admin).status_code == 404
    assert client.get("/mailboxes", headers=admin).json()["items"] == []


def test_set_aside_mail_is_visible_to_admins(
    api: tuple[TestClient, Headers, Headers, Headers], sql_services: Services
) -> None:
    client, admin, _, other = api
    client.put("/mailboxes/help@desk.example", json={"admit_unknown_senders": True}, headers=admin)
    with mail_server(sql_services) as port:
        send(port, mail("Automatic reply", "Away", Auto_Submitted="auto-replied"))
    (item,) = client.get("/mailboxes/help@desk.example/set-aside", headers=admin).json()["items"]
    assert item["reason"] == "Auto-Submitted: auto-replied"
    assert "bob" not in str(item)
    assert client.get("/mailboxes/help@desk.example/set-aside", headers=other).status_code == 404


def test_admins_register_known_senders(api: tuple[TestClient, Headers, Headers, Headers]) -> None:
    client, admin, _, _ = api
    put = client.put("/mail-senders/bob@example.org", json={"person_id": "bob"}, headers=admin)
    assert put.json() == {"person_id": "bob"}
    assert client.put("/mail-senders/BOB@example.org", json={"person_id": "bob"}, headers=admin).status_code == 200
    assert client.put("/mail-senders/bob@example.org", json={"person_id": "rob"}, headers=admin).status_code == 409
