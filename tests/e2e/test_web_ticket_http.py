"""The ticket page's forms over plain HTTP: each calls the API's command, refusals store nothing, tokens are checked."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.live import _last_seen, changes
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.keys import Principal
from infrastructure.readmodels.waiting import PositionWaiter
from infrastructure.settings import Settings

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Desk:
    """A site with an agent and a customer (each with a signed-in client) and one ticket of the customer's."""

    services: Services
    agent: TestClient
    customer: TestClient
    ticket: UUID

    def token(self, client: TestClient) -> str:
        """The form token of the ticket page as `client` sees it."""
        found = TOKEN.search(client.get(f"/t/{self.ticket}", headers=HTML).text)
        assert found is not None
        return found.group(1)

    def post(self, client: TestClient, action: str, **fields: str) -> str:
        """Post a form of the ticket page with its token; the page shown after it."""
        answer = client.post(f"/t/{self.ticket}/{action}", data={"csrf_token": self.token(client), **fields})
        assert answer.status_code == 200, answer.text
        return answer.text

    def version(self) -> int:
        """The ticket's version now (one more per event)."""
        return self.services.desk.get_ticket(self.ticket).version


def sign_in(client: TestClient, email: str, password: str) -> None:
    form = client.get("/login", headers=HTML)
    token = TOKEN.search(form.text)
    assert token is not None
    fields = {"email": email, "password": password, "csrf_token": token.group(1)}
    assert client.post("/login", data=fields, follow_redirects=False).status_code == 303


@pytest.fixture
def desk(sqlite_settings: Settings) -> Iterator[Desk]:
    services = build_services(sqlite_settings)
    password = secrets.token_urlsafe(18)
    common = {"password": password, "tenant": "acme", "by": OPERATOR, "via": "cli"}
    services.create_user(
        email="ann@acme.example", actor_id="ann", role=Role.AGENT, groups=["support", "network"], **common
    )
    services.create_user(email="cathy@acme.example", actor_id="cathy", role=Role.CUSTOMER, **common)
    agent = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
    ticket = services.desk.open_ticket(
        title="Printer on fire",
        description="Smoke",
        requester_id="cathy",
        group="support",
        by=agent,
        via="web",
        tenant="acme",
    ).ticket_id
    with TestClient(create_app(services=services)) as ann, TestClient(create_app(services=services)) as cathy:
        sign_in(ann, "ann@acme.example", password)
        sign_in(cathy, "cathy@acme.example", password)
        yield Desk(services, ann, cathy, ticket)
    services.close()


def test_an_agent_claims_replies_and_solves_and_the_customer_rates(desk: Desk) -> None:
    page = desk.post(desk.agent, "claim")
    assert '<dd class="assignee">ann</dd>' in page
    desk.post(desk.agent, "comments", body="A technician is on the way.", public="true")
    desk.post(desk.agent, "comments", body="Model from 1998.", public="false")
    page = desk.post(desk.agent, "transitions", to="solved")
    assert '<dd class="status">Solved</dd>' in page
    customer_page = desk.customer.get(f"/t/{desk.ticket}", headers=HTML).text
    assert "A technician is on the way." in customer_page
    assert '<button type="submit" name="to" value="open">Reopen</button>' in customer_page
    assert "Model from 1998." not in customer_page
    page = desk.post(desk.customer, "rating", rating="good", comment="Quick!")
    assert "Quick!" in page
    ticket = desk.services.desk.get_ticket(desk.ticket)
    assert ticket.satisfaction is not None
    assert ticket.satisfaction["score"] == 1
    history = desk.agent.get(f"/t/{desk.ticket}/history", headers=HTML)
    assert history.status_code == 200
    assert '<td data-label="Event">Assigned</td>' in history.text  # the claim, in words
    assert '<td data-label="Event">Status changed</td>' in history.text
    assert '<td data-label="Via">web</td>' in history.text


def test_a_refused_command_shows_why_in_the_visitors_language_and_stores_nothing(desk: Desk) -> None:
    before = desk.version()
    answer = desk.customer.post(
        f"/t/{desk.ticket}/claim", data={"csrf_token": desk.token(desk.customer)}, headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 403
    assert "You may not do that on this ticket." in answer.text
    desk.agent.cookies.set("ledgerdesk_language", "zh_CN")
    answer = desk.agent.post(
        f"/t/{desk.ticket}/transitions", data={"csrf_token": desk.token(desk.agent), "to": "closed"}
    )
    assert answer.status_code == 409
    assert "工单无法从当前状态转到该状态。" in answer.text
    assert desk.version() == before


def test_a_form_without_its_token_is_refused_and_stores_nothing(desk: Desk) -> None:
    before = desk.version()
    answer = desk.agent.post(f"/t/{desk.ticket}/comments", data={"body": "Hello", "public": "true"})
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    with_header = desk.agent.post(
        f"/t/{desk.ticket}/claim", headers={"X-CSRF-Token": desk.token(desk.agent), "HX-Request": "true"}
    )
    assert with_header.status_code == 200  # htmx sends the token as a header instead
    assert desk.version() == before + 1


def test_a_reply_carries_files_that_only_those_who_see_it_can_download(desk: Desk) -> None:
    files = [("files", ("notes.txt", b"plain words\n", "text/plain"))]
    fields = {"csrf_token": desk.token(desk.agent), "body": "See the file.", "public": "false"}
    answer = desk.agent.post(f"/t/{desk.ticket}/comments", data=fields, files=files)
    assert answer.status_code == 200
    link = re.search(r'href="(/t/[^"]+/files/[^"]+)">notes.txt<', answer.text)
    assert link is not None
    download = desk.agent.get(link.group(1))
    assert download.status_code == 200
    assert download.content == b"plain words\n"
    assert desk.customer.get(link.group(1), headers=HTML).status_code == 404  # an internal note's file
    before = desk.version()
    program = [("files", ("invoice.pdf", b"MZ\x90\x00" + bytes(200), "application/pdf"))]
    fields = {"csrf_token": desk.token(desk.agent), "body": "Run this.", "public": "true"}
    refused = desk.agent.post(f"/t/{desk.ticket}/comments", data=fields, files=program)
    assert refused.status_code == 415  # the type is sniffed from the content, as for the API's upload
    assert "A file is of a type that is not accepted." in refused.text
    assert desk.version() == before


def test_the_live_stream_is_refused_to_those_who_do_not_reach_the_ticket(desk: Desk) -> None:
    agent = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
    billing = desk.services.desk.open_ticket(
        title="Invoice", description="Wrong", requester_id="dan", group="billing", by=agent, via="web", tenant="acme"
    ).ticket_id
    assert desk.agent.get(f"/t/{billing}/live", headers=HTML).status_code == 404
    assert desk.agent.get(f"/t/{billing}", headers=HTML).status_code == 404
    assert desk.agent.get(f"/t/{billing}/history", headers=HTML).status_code == 404
    assert desk.customer.get(f"/t/{desk.ticket}/history", headers=HTML).status_code == 404


def test_assign_transfer_and_a_macro_call_the_same_commands_and_show_in_the_history(desk: Desk) -> None:
    admin = Actor("admin", ActorKind.SYSTEM, role=Role.ADMIN.value)
    desk.services.desk.define_macro(
        tenant="acme",
        name="need-info",
        title="Ask for details",
        actions=[{"add_note": "Asked for the model number"}, {"add_tags": ["info"]}],
        by=admin,
        via="api",
    )
    page = desk.post(desk.agent, "assignment", assignee="bob")
    assert '<dd class="assignee">bob</dd>' in page
    assert '<option value="need-info">Ask for details</option>' in page
    page = desk.post(desk.agent, "macros", name="need-info")
    assert "Asked for the model number" in page
    before = desk.version()
    fields = {"csrf_token": desk.token(desk.agent), "group": "", "reason": ""}  # a transfer names where to and why
    refused = desk.agent.post(f"/t/{desk.ticket}/transfer", data=fields)
    assert refused.status_code == 422
    assert "The change was refused" in refused.text
    assert desk.version() == before
    fields = {"csrf_token": desk.token(desk.agent), "group": "billing", "reason": "Theirs."}
    not_hers = desk.agent.post(f"/t/{desk.ticket}/transfer", data=fields)
    assert not_hers.status_code == 403  # an agent limited to groups routes only to them (the application's rule)
    assert "You may not do that on this ticket." in not_hers.text
    assert desk.version() == before
    page = desk.post(desk.agent, "transfer", group="network", reason="It is the switch, not the printer.")
    assert "Transferred: It is the switch, not the printer." in page
    ticket = desk.services.desk.get_ticket(desk.ticket)
    assert (ticket.group, ticket.tags) == ("network", ["info"])
    history = desk.services.desk.history(desk.ticket, tenant="acme")
    assert {change.via for change in history[1:]} == {"web", "macro"}


def test_sla_targets_show_with_their_due_times(
    sqlite_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = sqlite_settings.model_copy(update={"projections_in_process": True})
    services = build_services(settings)
    try:
        services.start_projections()
        password = secrets.token_urlsafe(18)
        admin = Actor("admin", ActorKind.SYSTEM, role=Role.ADMIN.value)
        services.create_user(
            email="ann@acme.example",
            password=password,
            actor_id="ann",
            role=Role.AGENT,
            tenant="acme",
            by=OPERATOR,
            via="cli",
        )
        services.desk.define_policy(
            tenant="acme", name="standard", position=1, terms={"targets": {"first_response": 60}}, by=admin, via="api"
        )
        receipt = services.desk.open_ticket(
            title="Slow VPN", description="Since Monday", requester_id="cathy", by=admin, via="web", tenant="acme"
        )
        deadline = 200
        while services.read_models.position() < (receipt.position or 0) and deadline:
            services.read_models.wait_for(receipt.position or 0, 0.1)
            deadline -= 1
        with TestClient(create_app(services=services)) as client:
            sign_in(client, "ann@acme.example", password)
            page = client.get(f"/t/{receipt.ticket_id}", headers=HTML).text
        assert "SLA targets" in page
        assert "First response" in page
        assert "Running" in page
        assert "due " in page
    finally:
        services.close()


def test_a_page_that_missed_a_change_while_reconnecting_is_told_at_once(desk: Desk) -> None:
    ann = Principal(
        key_id="user:ann", actor=Actor("ann", ActorKind.AGENT, role=Role.AGENT.value), role=Role.AGENT, tenant="acme"
    )

    async def opening(seen: int | None) -> list[str]:
        waiter = PositionWaiter(lambda: 0, per_caller=1, step_seconds=1)
        stream = changes(waiter, desk.services, ann, desk.ticket, seen=seen, version=3, position=0)
        try:
            return [await anext(stream), *([await anext(stream)] if seen != 3 else [])]
        finally:
            await stream.aclose()
            waiter.close()

    assert asyncio.run(opening(2))[1] == "id: 3\nevent: changed\ndata: 3\n\n"
    assert asyncio.run(opening(3))[0].startswith("retry: ")
    assert _last_seen("7", 2) == 7  # the browser's Last-Event-ID wins over the page's own version
    assert _last_seen(None, 2) == 2
    assert _last_seen("x", None) is None


def test_htmx_gets_one_region_of_the_ticket_page(desk: Desk) -> None:
    htmx = {**HTML, "HX-Request": "true"}
    state = desk.agent.get(f"/t/{desk.ticket}?part=state", headers=htmx)
    actions = desk.agent.get(f"/t/{desk.ticket}?part=actions", headers=htmx)
    assert "<html" not in state.text
    assert "<h1>Printer on fire</h1>" in state.text
    assert "<html" not in actions.text
    assert "Assign to me" in actions.text
    assert "<html" in desk.agent.get(f"/t/{desk.ticket}?part=other", headers=htmx).text  # anything else: the page
    assert "<html" in desk.agent.get(f"/t/{desk.ticket}?part=state", headers=HTML).text  # a browser: the page


def test_an_agent_accepts_and_corrects_suggestions_from_the_ticket_page_and_the_history_names_them(desk: Desk) -> None:
    from domain.suggestions.rules import Prediction

    predictions = [Prediction("type", "incident", 0.91, 1), Prediction("priority", "high", 0.72, 1)]
    desk.services.desk.record_suggestions(desk.ticket, predictions)
    page = desk.agent.get(f"/t/{desk.ticket}", headers=HTML).text
    assert 'id="suggestions-heading"' in page
    assert "confidence 91%" in page
    assert page.count(">Accept</button>") == 2
    assert "Suggestions" not in desk.customer.get(f"/t/{desk.ticket}", headers=HTML).text  # staff only
    page = desk.post(desk.agent, "suggestions/1/acceptance")
    assert "Accepted" in page
    before = desk.version()
    refused = desk.agent.post(
        f"/t/{desk.ticket}/suggestions/2/correction", data={"csrf_token": desk.token(desk.agent), "value": "soon"}
    )
    assert refused.status_code == 422  # not a priority: shown with the reason, nothing stored
    assert desk.version() == before
    page = desk.post(desk.agent, "suggestions/2/correction", value="low")
    assert "Corrected to low" in page
    ticket = desk.services.desk.get_ticket(desk.ticket)
    assert (ticket.ticket_type, ticket.priority.value) == ("incident", "low")
    history = desk.agent.get(f"/t/{desk.ticket}/history", headers=HTML).text
    assert '<td data-label="Event">Suggestion accepted</td>' in history
    assert '<td data-label="Event">Suggestion corrected</td>' in history


def test_the_requesters_customer_profile_is_shown_to_staff_beside_the_ticket(desk: Desk) -> None:
    from datetime import date

    from domain.customers.profile import profile

    assert 'id="customer-profile"' not in desk.agent.get(f"/t/{desk.ticket}", headers=HTML).text  # none yet
    gold = profile(
        tier="gold", contract="C-7", contract_until=date(2027, 6, 30), purchases=["P-9"], attributes={"seats": 3}
    )
    desk.services.desk.set_customer_profile(tenant="acme", customer_id="cathy", checked=gold, by=OPERATOR, via="cli")
    page = desk.agent.get(f"/t/{desk.ticket}", headers=HTML).text
    assert '<dd class="tier">gold</dd>' in page
    assert "C-7 (until 2027-06-30)" in page
    assert "<dd>P-9</dd>" in page
    assert "<dt>seats</dt><dd>3</dd>" in page
    assert 'id="customer-profile"' not in desk.customer.get(f"/t/{desk.ticket}", headers=HTML).text
    desk.agent.cookies.set("ledgerdesk_language", "zh_CN")
    assert "客户档案" in desk.agent.get(f"/t/{desk.ticket}", headers=HTML).text
