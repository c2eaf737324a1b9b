"""The ticket page's links, children and merges over HTTP: the API's commands, refs resolved, refusals readable."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.mail.threads import short_ref
from domain.pipeline import Receipt
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.e2e.test_web_ticket_http import HTML, OPERATOR, TOKEN, sign_in

ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)


@dataclass(frozen=True, slots=True)
class Desk:
    """A site (its read models kept up to date) with an agent and a customer signed in, and two of Cathy's tickets."""

    services: Services
    agent: TestClient
    customer: TestClient
    printer: UUID
    scanner: UUID

    def open(self, title: str, *, tenant: str = "acme", parent: UUID | None = None) -> UUID:
        """A ticket of Cathy's in group support, once the read models have it."""
        receipt = self.services.desk.open_ticket(
            title=title,
            description="Details",
            requester_id="cathy",
            group="support",
            parent_id=parent,
            by=ANN,
            via="web",
            tenant=tenant,
        )
        caught_up(self.services, receipt)
        return receipt.ticket_id

    def post(self, client: TestClient, ticket: UUID, action: str, **fields: str) -> tuple[int, str]:
        """Post a form of `ticket`'s page with its token: the status and the page shown after it."""
        found = TOKEN.search(client.get(f"/t/{ticket}", headers=HTML).text)
        assert found is not None
        answer = client.post(f"/t/{ticket}/{action}", data={"csrf_token": found.group(1), **fields})
        return answer.status_code, answer.text

    def versions(self) -> tuple[int, int]:
        """Both tickets' versions now (one more per event)."""
        return (
            self.services.desk.get_ticket(self.printer).version,
            self.services.desk.get_ticket(self.scanner).version,
        )


def caught_up(services: Services, receipt: Receipt) -> None:
    """Wait (a few seconds at most) until the read models have taken the receipt's events."""
    for _ in range(200):
        if services.read_models.position() >= (receipt.position or 0):
            return
        services.read_models.wait_for(receipt.position or 0, 0.1)
    raise AssertionError(receipt)


@pytest.fixture
def desk(sqlite_settings: Settings) -> Iterator[Desk]:
    services = build_services(sqlite_settings.model_copy(update={"projections_in_process": True}))
    try:
        services.start_projections()
        password = secrets.token_urlsafe(18)
        common = {"password": password, "tenant": "acme", "by": OPERATOR, "via": "cli"}
        services.create_user(email="ann@acme.example", actor_id="ann", role=Role.AGENT, groups=["support"], **common)
        services.create_user(email="cathy@acme.example", actor_id="cathy", role=Role.CUSTOMER, **common)
        with TestClient(create_app(services=services)) as ann, TestClient(create_app(services=services)) as cathy:
            sign_in(ann, "ann@acme.example", password)
            sign_in(cathy, "cathy@acme.example", password)
            empty = Desk(services, ann, cathy, UUID(int=0), UUID(int=0))
            printer, scanner = empty.open("Printer on fire"), empty.open("Scanner eats paper")
            yield Desk(services, ann, cathy, printer, scanner)
    finally:
        services.close()


def test_an_agent_links_by_short_ref_and_removes_the_link_from_either_side(desk: Desk) -> None:
    status, page = desk.post(
        desk.agent, desk.printer, "links", other=f"#{short_ref(desk.scanner)}", kind="duplicate_of"
    )
    assert status == 200, page
    assert "Duplicate of" in page
    assert (
        f'<a href="/t/{desk.scanner}"><span class="ref">#{short_ref(desk.scanner)}</span> Scanner eats paper</a>'
        in page
    )
    other_side = desk.agent.get(f"/t/{desk.scanner}", headers=HTML).text
    assert "Duplicated by" in other_side
    assert f'<a href="/t/{desk.printer}">' in other_side
    printer = desk.services.desk.get_ticket(desk.printer)
    assert [(k.type.value, k.ticket_id) for k in printer.links] == [("duplicate_of", str(desk.scanner))]
    history = desk.services.desk.history(desk.printer, tenant="acme")
    assert history[-1].via == "web"
    status, page = desk.post(
        desk.agent, desk.scanner, "links/removal", kind="duplicated_by", other=str(desk.printer)
    )  # named from the other side
    assert status == 200, page
    assert "Related tickets" not in page
    assert desk.services.desk.get_ticket(desk.printer).links == []
    assert desk.services.desk.get_ticket(desk.scanner).links == []


def test_a_merged_ticket_points_to_the_survivor_which_lists_it(desk: Desk) -> None:
    status, page = desk.post(desk.agent, desk.printer, "merge", into=str(desk.scanner), reason="Same device")
    assert status == 200, page
    assert '<p class="merged-into">Merged into <a href="/t/' in page
    assert "Scanner eats paper" in page
    assert f'action="/t/{desk.printer}/merge"' not in page  # closed: nothing to merge any more
    survivor = desk.agent.get(f"/t/{desk.scanner}", headers=HTML).text
    assert "Merged into this ticket" in survivor
    assert (
        f'<a href="/t/{desk.printer}"><span class="ref">#{short_ref(desk.printer)}</span> Printer on fire</a>'
        in survivor
    )
    desk.agent.cookies.set("ledgerdesk_language", "zh_CN")
    survivor = desk.agent.get(f"/t/{desk.scanner}", headers=HTML).text
    assert "关联工单" in survivor
    assert "已合并到本工单的工单" in survivor
    assert desk.services.desk.get_ticket(desk.printer).merged_into == str(desk.scanner)
    assert desk.services.desk.get_ticket(desk.scanner).merged_sources == [str(desk.printer)]


def test_children_are_listed_as_children_and_the_child_names_its_parent(desk: Desk) -> None:
    child = desk.open("Replace the fuser", parent=desk.printer)
    parent_page = desk.agent.get(f"/t/{desk.printer}", headers=HTML).text
    assert '<ul class="children">' in parent_page
    assert "Replace the fuser" in parent_page
    assert "Remove the link" not in parent_page  # a child stays its parent's
    child_page = desk.agent.get(f"/t/{child}", headers=HTML).text
    assert '<p class="parent">Parent: <a href="/t/' in child_page


def test_a_bad_ref_is_a_readable_refusal_that_stores_nothing(desk: Desk) -> None:
    before = desk.versions()
    status, page = desk.post(desk.agent, desk.printer, "links", other="zz-not-a-ref", kind="related")
    assert status == 422
    assert "No ticket you can reach has the reference zz-not-a-ref." in page
    opened = [desk.printer, desk.scanner]
    while len({short_ref(t)[0] for t in opened}) == len(opened):  # two tickets whose refs begin alike
        opened.append(desk.open(f"Ticket {len(opened)}"))
    first = [short_ref(t)[0] for t in opened]
    shared = next(digit for digit in first if first.count(digit) > 1)
    before = desk.versions()
    desk.agent.cookies.set("ledgerdesk_language", "zh_CN")
    status, page = desk.post(desk.agent, desk.printer, "merge", into=shared, reason="Same")
    assert status == 422
    assert f"有多个工单以 {shared} 开头" in page
    status, page = desk.post(desk.agent, desk.printer, "links", other=str(desk.printer), kind="related")
    assert status == 422  # itself: the application's refusal
    assert desk.versions() == before


def test_another_tenants_ticket_is_never_linkable(desk: Desk) -> None:
    theirs = desk.open("Globex printer", tenant="globex")
    before = desk.versions()
    for ref in (str(theirs), short_ref(theirs)):
        status, page = desk.post(desk.agent, desk.printer, "links", other=ref, kind="related")
        assert status == 422
        assert f"No ticket you can reach has the reference {ref}." in page
        status, page = desk.post(desk.agent, desk.printer, "merge", into=ref, reason="Same")
        assert f"No ticket you can reach has the reference {ref}." in page
    assert desk.versions() == before
    assert desk.services.desk.get_ticket(theirs, tenant="globex").links == []


def test_a_customer_never_sees_the_forms_and_is_refused(desk: Desk) -> None:
    desk.post(desk.agent, desk.printer, "links", other=str(desk.scanner), kind="related")
    page = desk.customer.get(f"/t/{desk.printer}", headers=HTML).text
    for form in ("links", "links/removal", "merge"):
        assert f'action="/t/{desk.printer}/{form}"' not in page
    assert "Related tickets" not in page
    before = desk.versions()
    status, page = desk.post(desk.customer, desk.printer, "merge", into=str(desk.scanner), reason="Mine")
    assert status == 403
    assert "You may not do that on this ticket." in page
    status, _ = desk.post(desk.customer, desk.printer, "links/removal", kind="related", other=str(desk.scanner))
    assert status == 403
    status, page = desk.post(desk.agent, desk.printer, "links/removal", kind="related", other="not an id")
    assert status == 422
    assert "No ticket you can reach has the reference not an id." in page
    assert desk.versions() == before
