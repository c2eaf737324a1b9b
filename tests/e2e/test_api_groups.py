"""Agents limited to groups, through the API on SQLite and PostgreSQL: their groups' tickets and unrouted ones only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError, TicketNotFoundError
from infrastructure.composition import Services


@pytest.fixture
def services(served: Services) -> Services:
    return served  # on SQLite and PostgreSQL, projections running (tests/e2e/conftest.py)


def _bearer(services: Services, actor: str, role: Role, groups: list[str] | None = None) -> dict[str, str]:
    key = services.keys.create(actor_id=actor, role=role, tenant="acme", groups=groups)
    return {"Authorization": f"Bearer {key.secret}"}


def test_a_group_limited_agent_reaches_its_groups_and_unrouted_tickets_only(services: Services) -> None:
    admin = _bearer(services, "boss", Role.ADMIN)
    it_agent = _bearer(services, "ian", Role.AGENT, ["it"])
    with TestClient(create_app(services=services)) as client:
        ids = {}
        for name, group in (("it", "it"), ("hr", "hr"), ("intake", None)):
            ticket = client.post("/tickets", json={"title": f"{name} ticket", "requester_id": "bob"}, headers=admin)
            ids[name] = ticket.json()["id"]
            position = ticket.headers["ledgerdesk-position"]
            if group is not None:
                routed = client.post(f"/tickets/{ids[name]}/assignment", json={"group": group}, headers=admin)
                position = routed.headers["ledgerdesk-position"]

        assert client.get(f"/tickets/{ids['it']}", headers=it_agent).status_code == 200
        for path in ("", "/history", "/sla"):
            assert client.get(f"/tickets/{ids['hr']}{path}", headers=it_agent).status_code == 404, path
        refused = client.post(f"/tickets/{ids['hr']}/comments", json={"body": "peek"}, headers=it_agent)
        assert refused.status_code == 404
        assert "hr ticket" not in refused.text

        listed = client.get("/tickets", params={"min_position": position, "sort": "created_at"}, headers=it_agent)
        assert [t["title"] for t in listed.json()["items"]] == ["it ticket", "intake ticket"]
        assert client.get("/queues/groups/hr", headers=it_agent).json()["items"] == []
        assert client.get("/events", headers=it_agent).status_code == 403  # tenant-wide

        intake = f"/tickets/{ids['intake']}/assignment"
        assert client.post(intake, json={"group": "hr"}, headers=it_agent).status_code == 403
        assert client.post(intake, json={"group": "it"}, headers=it_agent).status_code == 200


def test_group_limits_hold_in_the_domain_and_only_for_agents(services: Services) -> None:
    boss = Actor("boss", ActorKind.AGENT)
    opened = services.desk.open_ticket(tenant="acme", title="Payroll", requester_id="bob", by=boss, via="api")
    services.desk.assign(opened.ticket_id, group="hr", by=boss, via="api")
    limited = Actor("ian", ActorKind.AGENT, groups=frozenset({"it"}))
    with pytest.raises(TicketNotFoundError):
        services.desk.add_comment(opened.ticket_id, "hello", public=True, by=limited, via="api")
    with pytest.raises(InvalidValueError):
        services.keys.create(actor_id="carl", role=Role.CUSTOMER, tenant="acme", groups=["it"])
    with pytest.raises(InvalidValueError):
        services.keys.create(actor_id="ann", role=Role.AGENT, tenant="acme", groups=[])
