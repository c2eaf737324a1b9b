"""The portal's "New request" and the agents' queue page over plain HTTP: what is stored, what is refused."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)


@dataclass
class Desk:
    """A served app with a customer and an agent, and a way to sign either in."""

    services: Services
    passwords: dict[str, str]

    def client(self, who: str) -> Iterator[TestClient]:
        """A client signed in through the form as `who` (an e-mail address)."""
        with TestClient(create_app(services=self.services)) as client:
            token = form_token(client.get("/login", headers=HTML).text)
            fields = {"email": who, "password": self.passwords[who], "csrf_token": token}
            assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
            yield client


def form_token(html: str) -> str:
    """The form token of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """A site on SQLite with its projections running, a customer cathy and an agent ann of group support."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledgerdesk.sqlite'}",
        blob_dir=str(tmp_path / "blobs"),
        projections_in_process=True,
        attachment_max_bytes=1024,
    )
    services = build_services(settings)
    services.start_projections()
    passwords = {"cathy@acme.example": secrets.token_urlsafe(18), "ann@acme.example": secrets.token_urlsafe(18)}
    services.create_user(
        email="cathy@acme.example",
        password=passwords["cathy@acme.example"],
        actor_id="cathy",
        role=Role.CUSTOMER,
        tenant="acme",
        by=OPERATOR,
        via="cli",
    )
    services.create_user(
        email="ann@acme.example",
        password=passwords["ann@acme.example"],
        actor_id="ann",
        role=Role.AGENT,
        tenant="acme",
        groups=["support"],
        by=OPERATOR,
        via="cli",
    )
    try:
        yield Desk(services, passwords)
    finally:
        services.close()


def test_a_customer_opens_a_request_with_a_file_on_the_web_channel(desk: Desk) -> None:
    for client in desk.client("cathy@acme.example"):
        token = form_token(client.get("/new", headers=HTML).text)
        fields = {"csrf_token": token, "title": "VPN drops", "description": "Every hour."}
        files = [("files", ("log.txt", b"12:00 dropped\n", "text/plain"))]
        answer = client.post("/new", data=fields, files=files, follow_redirects=False)
        assert answer.status_code == 303
        ticket_id = UUID(answer.headers["location"].removeprefix("/t/"))
        ticket = desk.services.desk.get_ticket(ticket_id)
        assert (ticket.title, ticket.requester_id, ticket.tenant) == ("VPN drops", "cathy", "acme")
        [comment] = ticket.comments
        assert comment.public
        assert [a["name"] for a in comment.attachments] == ["log.txt"]
        assert "VPN drops" in client.get("/", headers=HTML).text  # "My requests" lists it at once
        row = desk.services.read_models.tickets().get_ticket("acme", ticket_id)
        assert row is not None
        assert row.channel == "web"


def test_a_refused_file_opens_nothing_and_says_why(desk: Desk) -> None:
    for client in desk.client("cathy@acme.example"):
        before = desk.services.read_models.position()
        token = form_token(client.get("/new", headers=HTML).text)
        fields = {"csrf_token": token, "title": "Here is a program"}
        program = [("files", ("tool.exe", b"MZ\x90\x00" + bytes(200), "application/octet-stream"))]
        answer = client.post("/new", data=fields, files=program)
        assert answer.status_code == 415
        assert "Files of the type of tool.exe are not accepted" in answer.text
        assert 'value="Here is a program"' in answer.text  # what was typed is kept
        large = [("files", ("big.txt", b"a" * 2048, "text/plain"))]
        answer = client.post("/new", data=fields, files=large)
        assert answer.status_code == 413
        assert "big.txt is too large" in answer.text
        assert desk.services.read_models.position() == before
        assert (desk.services.desk.recorder.max_notification_id() or 0) == before


def test_a_request_without_the_form_token_is_refused(desk: Desk) -> None:
    for client in desk.client("cathy@acme.example"):
        before = desk.services.desk.recorder.max_notification_id() or 0
        answer = client.post("/new", data={"title": "Forged"})
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
        assert (desk.services.desk.recorder.max_notification_id() or 0) == before


def test_an_agent_opens_a_request_for_a_requester(desk: Desk) -> None:
    for client in desk.client("ann@acme.example"):
        token = form_token(client.get("/new", headers=HTML).text)
        missing = client.post("/new", data={"csrf_token": token, "title": "Phone call"})
        assert missing.status_code == 422
        fields = {"csrf_token": token, "title": "Phone call", "requester": "cathy"}
        answer = client.post("/new", data=fields, follow_redirects=False)
        assert answer.status_code == 303
        ticket = desk.services.desk.get_ticket(UUID(answer.headers["location"].removeprefix("/t/")))
        assert (ticket.requester_id, ticket.opened_by) == ("cathy", "ann")


def test_the_queues_filters_and_saved_views(desk: Desk) -> None:
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    app = desk.services.desk
    vpn = app.open_ticket(title="VPN drops", requester_id="cathy", group="support", priority="high", **how)
    app.open_ticket(title="Mouse broken", requester_id="cathy", group="support", tags=["hardware"], **how)
    mine = app.open_ticket(title="Mail is slow", requester_id="cathy", group="support", **how)
    last = app.assign(mine.ticket_id, assignee="ann", **how)
    desk.services.read_models.wait_for(last.position or 0, 10)
    for client in desk.client("ann@acme.example"):
        page = client.get("/", headers=HTML).text
        assert "Mail is slow" in page
        assert "VPN drops" not in page
        unassigned = client.get("/?queue=unassigned", headers=HTML).text
        assert "VPN drops" in unassigned
        assert "Mail is slow" not in unassigned
        high = client.get("/?queue=unassigned&priority=high", headers=HTML).text
        assert "VPN drops" in high
        assert "Mouse broken" not in high
        tagged = client.get("/?queue=groups&tag=hardware", headers=HTML).text
        assert "Mouse broken" in tagged
        assert "VPN drops" not in tagged
        searched = client.get("/?queue=groups&q=vpn", headers=HTML).text
        assert "VPN drops" in searched
        assert "Mouse broken" not in searched
        token = form_token(page)
        view = {"csrf_token": token, "name": "Urgent VPN", "query": "queue=unassigned&priority=high&q=vpn"}
        saved = client.post("/saved-views", data=view, follow_redirects=False)
        assert saved.status_code == 303
        assert saved.headers["location"] == "/?queue=unassigned&priority=high&q=vpn"
        page = client.get("/", headers=HTML).text
        assert 'href="/?queue=unassigned&amp;priority=high&amp;q=vpn">urgent-vpn</a>' in page
        again = client.post("/saved-views", data=view)
        assert again.status_code == 409
        assert "already exists" in again.text
        bad = client.post("/saved-views", data={**view, "name": "紧急"})
        assert bad.status_code == 422
        assert vpn.ticket_id  # opened, and shown above


def test_a_customer_may_not_save_a_view(desk: Desk) -> None:
    for client in desk.client("cathy@acme.example"):
        token = form_token(client.get("/new", headers=HTML).text)
        answer = client.post("/saved-views", data={"csrf_token": token, "name": "mine", "query": "queue=mine"})
        assert answer.status_code == 403


def test_an_api_key_opens_none_of_the_new_pages(desk: Desk) -> None:
    key = desk.services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    bearer = {**HTML, "Authorization": f"Bearer {key}"}
    with TestClient(create_app(services=desk.services)) as client:
        for path in ("/new", "/?queue=unassigned"):
            answer = client.get(path, headers=bearer, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        for path in ("/new", "/saved-views"):
            refused = client.post(path, headers=bearer, data={"title": "x", "name": "x"})
            assert refused.status_code == 403, path
            assert "text/html" in refused.headers["content-type"]


def test_htmx_polls_the_queue_with_its_filters_and_gets_the_list_alone(desk: Desk) -> None:
    for client in desk.client("ann@acme.example"):
        page = client.get("/?queue=unassigned&priority=high", headers=HTML).text
        assert 'hx-get="/?queue=unassigned&amp;priority=high"' in page
        fragment = client.get("/?queue=unassigned&priority=high", headers={**HTML, "HX-Request": "true"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert "Unassigned in my groups" in fragment.text
