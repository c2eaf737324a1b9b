"""The auditors' pages over plain HTTP, on SQLite and PostgreSQL: a ticket's timeline, as it was, a diff, the export.

Who may open them (auditors and admins of the ticket's tenant), who may not (agents, customers,
supervisors, analysts: 403; another tenant's auditor: 404), and what they show.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.web.audit_view import PAGE_SIZE
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.audit.checkpoint import Checkpoint, check_signature, public_key_from_text
from infrastructure.audit.export import verify_export
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import SettableClock

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
HTML = {"Accept": "text/html"}
HTMX = {**HTML, "HX-Request": "true"}
OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(OPENED)


@pytest.fixture
def site(sql_settings: Settings, clock: SettableClock) -> Iterator[tuple[Services, Callable[[Role, str], TestClient]]]:
    key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    settings = sql_settings.model_copy(update={"audit_signing_key": SecretStr(key.decode())})
    services = build_services(settings, clock=clock)
    services.start_projections()
    clients: list[TestClient] = []

    def signed_in(role: Role, tenant: str) -> TestClient:
        email, password = f"{role.value}.{tenant}@example.org", secrets.token_urlsafe(18)
        services.create_user(
            email=email,
            password=password,
            actor_id=f"{role.value}-{tenant}",
            role=role,
            tenant=tenant,
            time_zone="Europe/Berlin",
            by=OPERATOR,
            via="cli",
        )
        client = TestClient(create_app(services=services)).__enter__()
        clients.append(client)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login", headers=HTML).text)
        assert token is not None
        fields = {"email": email, "password": password, "csrf_token": token.group(1)}
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
        return client

    yield services, signed_in
    for client in clients:
        client.__exit__(None, None, None)
    services.close()


def _ticket(services: Services, clock: SettableClock) -> UUID:
    """Opened at 09:00 UTC as "Printer jams", renamed at 09:10, made urgent at 09:20."""
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    ticket = services.desk.open_ticket(title="Printer jams", requester_id="cathy", **how).ticket_id  # type: ignore[arg-type]
    clock.advance(minutes=10)
    services.desk.update_ticket(ticket, title="Printer on fire", **how)  # type: ignore[arg-type]
    clock.advance(minutes=10)
    last = services.desk.update_ticket(ticket, priority="urgent", **how)  # type: ignore[arg-type]
    services.read_models.wait_for(last.position or 0, 20.0)
    return ticket


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditors_and_admins_see_every_event_with_who_when_via_and_its_chain_hash(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock, role: Role
) -> None:
    services, signed_in = site
    ticket = _ticket(services, clock)
    client = signed_in(role, "acme")
    home = client.get("/audit", headers=HTML)
    assert home.status_code == 200
    assert "Verify now" in home.text
    assert 'href="/audit"' in home.text  # the header links the page
    page = client.get(f"/audit/tickets/{ticket}", headers=HTML)
    assert page.status_code == 200, page.text
    assert "content-security-policy" in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    chain = {row.version: row for row in _chain(services, ticket)}
    for version in (1, 2, 3):
        assert chain[version].chain_hash.hex() in page.text
    assert "Printer jams → Printer on fire" in page.text
    assert "2026-11-23T09:10:00Z" in page.text  # UTC beside the visitor's time
    assert 'ann <span class="kind">(agent, agent)</span>' in page.text


def _chain(services: Services, ticket: UUID) -> list[Any]:
    return list(AuditLog(services.desk).chain_of(ticket).values())


def test_the_ticket_as_it_was_at_a_moment_in_the_visitors_zone_or_a_version_and_a_diff(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock
) -> None:
    services, signed_in = site
    ticket = _ticket(services, clock)
    client = signed_in(Role.AUDITOR, "acme")
    url = f"/audit/tickets/{ticket}"
    # 10:15 in Berlin is 09:15 UTC: after the rename, before the priority changed.
    moment = client.get(url, params={"part": "past", "at": "2026-11-23T10:15"}, headers=HTMX)
    assert moment.status_code == 200
    assert "Version 2" in moment.text
    assert "Printer on fire" in moment.text
    assert "normal" in moment.text
    assert "<html" not in moment.text  # the region only
    first = client.get(url, params={"part": "past", "version": "1"}, headers=HTMX)
    assert "Printer jams" in first.text
    assert "Printer on fire" not in first.text
    before = client.get(url, params={"part": "past", "at": "2026-11-23T09:59"}, headers=HTMX)
    assert "did not exist yet" in before.text
    nonsense = client.get(url, params={"part": "past", "at": "yesterday"}, headers=HTMX)
    assert nonsense.status_code == 422
    assert "not a moment" in nonsense.text
    missing = client.get(url, params={"part": "past", "version": "9"}, headers=HTMX)
    assert "no such version" in missing.text
    diff = client.get(url, params={"part": "diff", "from_version": "1", "to_version": "3"}, headers=HTMX)
    assert "Printer jams → Printer on fire" in diff.text
    assert "normal → urgent" in diff.text
    # Without htmx, the same queries give the whole page (a browser without scripts).
    whole = client.get(url, params={"version": "1", "from_version": "1", "to_version": "2"}, headers=HTML)
    assert "<html" in whole.text
    assert "Version 1," in whole.text
    assert 'value="2026-11-23T10:00:00"' in whole.text  # the picker shows version 1's moment in Berlin


def test_a_long_timeline_comes_a_page_at_a_time(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock
) -> None:
    services, signed_in = site
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    ticket = services.desk.open_ticket(title="Long", requester_id="cathy", **how).ticket_id  # type: ignore[arg-type]
    for number in range(PAGE_SIZE + 5):
        services.desk.add_comment(ticket, f"note {number}", public=False, **how)  # type: ignore[arg-type]
    client = signed_in(Role.AUDITOR, "acme")
    page = client.get(f"/audit/tickets/{ticket}", headers=HTML)
    assert page.text.count('<tr id="v') == PAGE_SIZE
    assert f"after={PAGE_SIZE}" in page.text
    more = client.get(f"/audit/tickets/{ticket}", params={"part": "events", "after": PAGE_SIZE}, headers=HTMX)
    assert more.text.count('<tr id="v') == 6  # versions 201 to 206
    assert "note 204" in more.text
    assert "after=" not in more.text


@pytest.mark.parametrize("role", [Role.AGENT, Role.CUSTOMER, Role.SUPERVISOR, Role.ANALYST])
def test_other_roles_are_refused(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock, role: Role
) -> None:
    services, signed_in = site
    ticket = _ticket(services, clock)
    client = signed_in(role, "acme")
    for path in ("/audit", f"/audit/tickets/{ticket}", "/audit/verification", "/audit/export-file"):
        answer = client.get(path, headers=HTML)
        assert answer.status_code == 403, (role, path)
        assert "Printer" not in answer.text
    assert 'href="/audit"' not in client.get("/", headers=HTML).text


def test_another_tenants_auditor_finds_no_such_ticket(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock
) -> None:
    services, signed_in = site
    ticket = _ticket(services, clock)
    client = signed_in(Role.AUDITOR, "globex")
    answer = client.get(f"/audit/tickets/{ticket}", headers=HTML)
    assert answer.status_code == 404
    assert "Printer" not in answer.text
    region = client.get(f"/audit/tickets/{ticket}", params={"part": "past", "version": 1}, headers=HTMX)
    assert region.status_code == 404
    found = client.get("/audit/tickets", params={"ticket": str(ticket)}, headers=HTML, follow_redirects=False)
    assert found.status_code == 404
    export = client.get("/audit/export-file", headers=HTML)
    assert b"Printer" not in export.content


def test_verify_now_and_the_signed_export_of_a_period(
    site: tuple[Services, Callable[[Role, str], TestClient]], clock: SettableClock
) -> None:
    services, signed_in = site
    ticket = _ticket(services, clock)
    client = signed_in(Role.AUDITOR, "acme")
    verified = client.get("/audit/verification", headers=HTMX)
    assert verified.status_code == 200
    assert "Verified:" in verified.text
    found = client.get("/audit/tickets", params={"ticket": str(ticket)[:8]}, headers=HTML, follow_redirects=False)
    assert found.headers["location"] == f"/audit/tickets/{ticket}"
    export = client.get("/audit/export-file", params={"from": "2026-11-23", "to": "2026-11-23"}, headers=HTML)
    assert export.status_code == 200
    assert int(export.headers["ledgerdesk-export-stop"]) >= 3
    key = services.settings.audit_signing_key
    assert key is not None
    trusted = public_key_from_text(json.loads(export.content.splitlines()[-1])["manifest"]["public_key"])
    manifest = verify_export(export.content, trusted)
    assert manifest.count == 3
    later = client.get("/audit/export-file", params={"from": "2026-11-24"}, headers=HTML)
    assert verify_export(later.content, trusted).count == 0
    bad = client.get("/audit/export-file", params={"from": "someday"}, headers=HTML)
    assert bad.status_code == 422
    assert "two days" in bad.text
    checkpoint = client.get("/audit/checkpoint", headers=HTML)
    assert checkpoint.headers["content-disposition"].startswith('attachment; filename="checkpoint-')
    signed = Checkpoint.from_json(checkpoint.text)
    check_signature(signed, trusted)
    head = AuditLog(services.desk).head()
    assert head is not None
    assert (signed.position, signed.chain_hash) == (head.position, head.chain_hash.hex())
    assert AuditLog(services.desk).verify(checkpoint=signed).ok


def test_without_a_signing_key_the_page_says_so_and_offers_no_download(
    sql_settings: Settings, clock: SettableClock
) -> None:
    services = build_services(sql_settings, clock=clock)
    try:
        services.create_user(
            email="audrey@acme.example",
            password=(password := secrets.token_urlsafe(18)),
            actor_id="audrey",
            role=Role.AUDITOR,
            tenant="acme",
            by=OPERATOR,
            via="cli",
        )
        with TestClient(create_app(services=services)) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login", headers=HTML).text)
            assert token is not None
            fields = {"email": "audrey@acme.example", "password": password, "csrf_token": token.group(1)}
            client.post("/login", data=fields)
            home = client.get("/audit", headers=HTML)
            assert "no signing key is configured" in home.text
            assert "/audit/checkpoint" not in home.text
            for path in ("/audit/checkpoint", "/audit/export-file"):
                refused = client.get(path, headers=HTML)
                assert refused.status_code == 503, path
                assert "no signing key is configured" in refused.text
    finally:
        services.close()
