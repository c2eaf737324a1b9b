"""Ticket search over titles, descriptions and comments, on SQLite and PostgreSQL.

What a search finds is read from the real read models the projection worker fills; erasure goes
through the real eraser (its keys destroyed), and a rebuild builds a new generation from the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import WHOLE_TENANT, ListScope, Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.settings import Settings
from projections.tickets.queries import Sort, TicketFilter
from tests.e2e.test_privacy import _raw_texts
from tests.support.clock import TickingClock

BOB = Actor("bob", ActorKind.REQUESTER, role="customer")
ALICE = Actor("alice", ActorKind.AGENT, role="agent")
ADMIN = Actor("root-admin", ActorKind.AGENT, role="admin")
BOBS_VIEW = ListScope(requester="bob")
#: Searches and what each finds (agents, then bob), once the desk of `_desk` stands.
EXPECTED = {
    "firmware": ({"VPN down"}, {"VPN down"}),  # the description
    "backup router": ({"VPN down"}, {"VPN down"}),  # a public reply
    "gandalf": ({"VPN down"}, set()),  # an internal note: agents only
    "网络": ({"VPN down"}, {"VPN down"}),  # two characters of a Chinese comment
    "无法连接": ({"VPN down"}, {"VPN down"}),
    "连网": (set(), set()),  # not neighbours in the text
    "print": ({"Printer jam"}, set()),  # a title's substring, as before; carol's ticket is not bob's
    "firm": ({"VPN down"}, {"VPN down"}),  # the last word as a prefix
    "jam firmware": (set(), set()),  # every word must be in the ticket
}


@pytest.fixture
def live(sql_settings: Settings) -> Iterator[Services]:
    built = build_services(sql_settings, clock=TickingClock())
    built.start_projections()
    yield built
    built.close()


def _desk(live: Services) -> UUID:
    """Bob's ticket with a description, a reply, a note and a Chinese comment; carol's; another tenant's."""
    desk = live.desk
    vpn = desk.open_ticket(
        tenant="acme",
        title="VPN down",
        description="Since the firmware upgrade",
        requester_id="bob",
        by=BOB,
        via="web",
    ).ticket_id
    desk.add_comment(vpn, "Please try the backup router", public=True, by=ALICE, via="web")
    desk.add_comment(vpn, "Escalate to Gandalf", public=False, by=ALICE, via="web")
    desk.add_comment(vpn, "打印机无法连接网络 zanzibar", public=True, by=BOB, via="web", tenant="acme")
    desk.open_ticket(tenant="acme", title="Printer jam", requester_id="carol", by=ALICE, via="web")
    desk.open_ticket(
        tenant="globex", title="Other desk", description="gandalf router", requester_id="bob", by=ALICE, via="web"
    )
    return vpn


def _found(live: Services, q: str, scope: ListScope = WHOLE_TENANT) -> set[str]:
    head = live.desk.recorder.max_notification_id() or 0
    assert live.read_models.wait_for(head, 10) >= head
    where = TicketFilter(tenant="acme", text=q, scope=scope)
    page = live.read_models.tickets().list_tickets(where, sort=Sort.NEWEST, limit=50)
    return {row.title for row in page.rows}


def _answers(live: Services) -> dict[str, tuple[set[str], set[str]]]:
    return {q: (_found(live, q), _found(live, q, BOBS_VIEW)) for q in EXPECTED}


def test_descriptions_and_comments_are_searched_and_notes_only_by_agents(live: Services) -> None:
    _desk(live)
    assert _answers(live) == EXPECTED


def test_a_rebuild_finds_the_same(live: Services) -> None:
    _desk(live)
    before = _answers(live)
    switched = rebuild(live.desk, live.read_models)
    assert switched.new_generation == 2
    assert _answers(live) == before == EXPECTED


def test_after_an_erasure_the_persons_words_are_found_nowhere(live: Services) -> None:
    vpn = _desk(live)
    assert _found(live, "zanzibar") == {"VPN down"}
    _found(live, "")  # caught up: the eraser finds every ticket of bob's

    outcome = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

    assert outcome.read_models_erased
    for q in ("zanzibar", "网络", "firmware", "VPN"):  # bob's comment, description and title
        assert _found(live, q) == set(), q
    assert _found(live, "gandalf") == {"[erased]"}  # alice's words are alice's: the ticket is still found
    assert live.desk.get_ticket(vpn).comments[0].body == "Please try the backup router"
    assert not any("zanzibar" in text or "firmware" in text for text in _raw_texts(live))  # FTS5 blobs too
    rebuild(live.desk, live.read_models)
    assert _found(live, "zanzibar") == _found(live, "firmware") == set()
    assert _found(live, "backup router") == {"[erased]"}


def test_q_on_the_api_leaves_internal_notes_out_for_customers(live: Services) -> None:
    _desk(live)
    head = str(live.desk.recorder.max_notification_id())
    agent = live.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    customer = live.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret
    with TestClient(create_app(services=live)) as client:
        asked = [
            (agent, "/tickets", ["VPN down"]),
            (agent, "/queues/unassigned", ["VPN down"]),
            (customer, "/tickets", []),
        ]
        for key, path, titles in asked:
            answer = client.get(
                path, params={"q": "gandalf", "min_position": head}, headers={"Authorization": f"Bearer {key}"}
            )
            assert answer.status_code == 200, answer.text
            assert [item["title"] for item in answer.json()["items"]] == titles, path


def test_sort_by_relevance_puts_the_best_match_first_on_one_page(live: Services) -> None:
    desk = live.desk
    often = desk.open_ticket(
        tenant="acme", title="Network", description="router router router", requester_id="bob", by=BOB, via="web"
    ).ticket_id
    once = desk.open_ticket(tenant="acme", title="Slow mail", requester_id="carol", by=ALICE, via="web").ticket_id
    desk.add_comment(
        once, "The router was restarted by someone in the office yesterday", public=True, by=ALICE, via="web"
    )
    assert _found(live, "router") == {"Network", "Slow mail"}
    queries = live.read_models.tickets()
    where = TicketFilter(tenant="acme", text="router")
    newest = queries.list_tickets(where, sort=Sort.NEWEST, limit=10)
    ranked = queries.list_tickets(where, sort=Sort.RELEVANCE, limit=10)
    assert [row.ticket_id for row in newest.rows] == [once, often]
    assert ([row.ticket_id for row in ranked.rows], ranked.next_cursor) == ([often, once], None)
    assert len(queries.list_tickets(TicketFilter(tenant="acme"), sort=Sort.RELEVANCE, limit=10).rows) == 2
    key = live.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=live), headers={"Authorization": f"Bearer {key}"}) as client:
        answer = client.get("/tickets", params={"q": "router", "sort": "relevance"})
        assert [item["title"] for item in answer.json()["items"]] == ["Network", "Slow mail"]
        refused = client.get(
            "/tickets", params={"q": "router", "sort": "relevance", "after": newest.next_cursor or "x"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
