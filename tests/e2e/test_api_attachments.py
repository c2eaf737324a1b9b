"""Files through the real app, on SQLite and PostgreSQL: uploaded with a comment, downloaded by its readers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock
from tests.support.keys import key

MAX_BYTES = 4096
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 10
CHINESE_NAME = "故障报告 2026年.pdf"


@pytest.fixture
def world(sql_settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, dict[str, str]]]]:
    settings = Settings.model_validate(
        sql_settings.model_dump() | {"blob_dir": str(tmp_path / "blobs"), "attachment_max_bytes": MAX_BYTES}
    )
    services = build_services(settings, clock=TickingClock())
    services.start_projections()
    keys = {
        "alice": key(services, "alice", Role.AGENT),
        "bob": key(services, "bob", Role.CUSTOMER),
        "carol": key(services, "carol", Role.CUSTOMER),
        "admin": key(services, "root-admin", Role.ADMIN),
        "zed": key(services, "zed", Role.ADMIN, tenant="globex"),
    }
    with TestClient(create_app(services=services)) as client:
        yield client, services, keys
    services.close()


def _bobs_ticket(client: TestClient, keys: dict[str, dict[str, str]]) -> str:
    opened = client.post("/tickets", json={"title": "Printer broken"}, headers=keys["bob"])
    assert opened.status_code == 201, opened.text
    ticket: str = opened.json()["id"]
    return ticket


def _upload(
    client: TestClient, ticket: str, who: dict[str, str], files: list[tuple[str, bytes]], *, public: bool = True
) -> Any:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    form = {"body": "see attached", "public": "true" if public else "false"}
    return client.post(f"/tickets/{ticket}/attachments", files=parts, data=form, headers=who)


def test_a_file_with_a_chinese_name_is_uploaded_and_downloaded_by_agent_and_requester(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, _, keys = world
    ticket = _bobs_ticket(client, keys)
    uploaded = _upload(client, ticket, keys["bob"], [(CHINESE_NAME, PDF), ("notes.txt", "打印机坏了\n".encode())])
    assert uploaded.status_code == 201, uploaded.text
    files = uploaded.json()["comments"][-1]["attachments"]
    sha = hashlib.sha256(PDF).hexdigest()
    assert files[0] == {
        "name": CHINESE_NAME,
        "size": len(PDF),
        "content_type": "application/pdf",
        "sha256": sha,
        "id": "1.1",
    }
    assert files[1]["content_type"] == "text/plain"
    for reader in ("alice", "bob"):
        got = client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys[reader])
        assert got.status_code == 200, got.text
        assert got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-length"] == str(len(PDF))
        assert got.headers["etag"] == f'"{sha}"'
        disposition = got.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == CHINESE_NAME
    text = client.get(f"/tickets/{ticket}/attachments/1.2", headers=keys["alice"])
    assert text.content.decode() == "打印机坏了\n"
    assert text.headers["content-type"].startswith("text/plain")


def test_requesters_never_get_files_of_internal_notes_nor_other_peoples_tickets(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, _, keys = world
    ticket = _bobs_ticket(client, keys)
    note = _upload(client, ticket, keys["alice"], [("internal.pdf", PDF)], public=False)
    assert note.status_code == 201, note.text
    assert client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys["alice"]).status_code == 200
    hidden = client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys["bob"])
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert client.get(f"/tickets/{ticket}", headers=keys["bob"]).json()["comments"] == []
    assert client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys["carol"]).status_code == 404
    assert client.get(f"/tickets/{ticket}/attachments/1.2", headers=keys["alice"]).status_code == 404
    # A requester writes no internal notes, with files or without: refused, nothing recorded.
    refused = _upload(client, ticket, keys["bob"], [("a.pdf", PDF)], public=False)
    assert refused.status_code == 403


def test_another_tenant_gets_404_for_download_and_upload(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, services, keys = world
    ticket = _bobs_ticket(client, keys)
    assert _upload(client, ticket, keys["bob"], [("a.pdf", PDF)]).status_code == 201
    foreign = client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys["zed"])
    assert foreign.status_code == 404
    assert PDF not in foreign.content
    before = services.desk.get_ticket(UUID(ticket)).version
    assert _upload(client, ticket, keys["zed"], [("b.pdf", PDF)]).status_code == 404
    assert services.desk.get_ticket(UUID(ticket)).version == before


def test_too_large_and_unallowed_files_are_refused_and_record_nothing(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    client, _, keys = world
    ticket = _bobs_ticket(client, keys)
    too_large = _upload(client, ticket, keys["alice"], [("ok.pdf", PDF), ("big.pdf", PDF + bytes(MAX_BYTES))])
    assert too_large.status_code == 413, too_large.text
    assert too_large.headers["content-type"] == "application/problem+json"
    assert too_large.json()["type"] == "urn:ledgerdesk:problem:too-large"
    program = _upload(client, ticket, keys["alice"], [("invoice.pdf", b"MZ\x90\x00" + bytes(200))])
    assert program.status_code == 415, program.text
    assert program.json()["type"] == "urn:ledgerdesk:problem:unsupported-media-type"
    too_many = _upload(client, ticket, keys["alice"], [(f"{n}.txt", b"x") for n in range(21)])
    assert too_many.status_code == 422, too_many.text
    no_files = client.post(f"/tickets/{ticket}/attachments", data={"body": "nothing"}, headers=keys["alice"])
    assert no_files.status_code == 422
    assert client.get(f"/tickets/{ticket}", headers=keys["alice"]).json()["comments"] == []
    # The refused files left no blob (the accepted first file of the too-large upload is an orphan).
    blobs = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) <= 1


def test_an_erased_authors_file_is_gone_while_the_audit_chain_verifies(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, services, keys = world
    ticket = _bobs_ticket(client, keys)
    uploaded = _upload(client, ticket, keys["bob"], [(CHINESE_NAME, PDF)])
    position = uploaded.headers["ledgerdesk-position"]
    client.get("/tickets", params={"min_position": position}, headers=keys["admin"])
    erased = client.post("/privacy/erasures", json={"person_id": "bob"}, headers=keys["admin"])
    assert erased.status_code == 200, erased.text
    gone = client.get(f"/tickets/{ticket}/attachments/1.1", headers=keys["alice"])
    assert gone.status_code == 410, gone.text
    assert gone.json()["type"] == "urn:ledgerdesk:problem:erased"
    shown = client.get(f"/tickets/{ticket}", headers=keys["alice"]).json()["comments"][0]["attachments"][0]
    assert (shown["name"], shown["sha256"]) == ("[erased]", hashlib.sha256(PDF).hexdigest())
    assert AuditLog(services.desk).verify().ok


def test_the_upload_is_documented_as_multipart(world: tuple[TestClient, Services, dict[str, dict[str, str]]]) -> None:
    client, _, _ = world
    operation = client.get("/openapi.json").json()["paths"]["/tickets/{ticket_id}/attachments"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"413", "415"} <= set(operation["responses"])


def test_an_attachment_id_of_another_form_is_not_found(
    world: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, _, keys = world
    ticket = _bobs_ticket(client, keys)
    for other in ("0.1", "1.0", "1", "x.y", ticket):
        answer = client.get(f"/tickets/{ticket}/attachments/{other}", headers=keys["alice"])
        assert answer.status_code == 404, (other, answer.text)


def test_an_upload_may_be_larger_than_other_bodies_but_is_bounded_too(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    limits = {"blob_dir": str(tmp_path / "blobs"), "attachment_max_bytes": 4096, "max_body_bytes": 1000}
    services = build_services(Settings.model_validate(sqlite_settings.model_dump() | limits), clock=TickingClock())
    try:
        agent = key(services, "alice", Role.AGENT)
        with TestClient(create_app(services=services)) as client:
            opened = client.post("/tickets", json={"title": "Scan", "requester_id": "bob"}, headers=agent)
            ticket = opened.json()["id"]
            long_comment = client.post(f"/tickets/{ticket}/comments", json={"body": "x" * 2000}, headers=agent)
            assert long_comment.status_code == 413  # JSON bodies keep LEDGERDESK_MAX_BODY_BYTES
            assert _upload(client, ticket, agent, [("scan.pdf", PDF)]).status_code == 201  # 2.5 kB > 1000 bytes
            # Past 20 files of the largest size plus the usual body: refused before the body is read.
            huge = _upload(client, ticket, agent, [("huge.pdf", PDF + bytes(100_000))])
            assert huge.status_code == 413
            assert "request body is larger than the limit of 82920 bytes" in huge.json()["detail"]
    finally:
        services.close()
