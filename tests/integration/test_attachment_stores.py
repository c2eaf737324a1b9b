"""The attachment store over each blob store: a directory, and S3 (moto's real S3 server on loopback).

The same contract runs on both: a file stored is read back byte for byte with its hash, refused
files leave nothing behind, one person's same file is kept once, two people's never share a blob,
and an erasure leaves the file unreadable while the audit chain still verifies.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.server import ThreadedMotoServer

from domain.actors import Actor, ActorKind
from domain.values import Attachment
from infrastructure.attachments.blobs import BlobStore, FileBlobStore
from infrastructure.attachments.errors import (
    AttachmentErasedError,
    AttachmentNotStoredError,
    AttachmentTooLargeError,
    AttachmentTypeError,
)
from infrastructure.attachments.policy import AttachmentPolicy
from infrastructure.attachments.s3 import S3BlobStore
from infrastructure.attachments.store import AttachmentStore
from infrastructure.audit.log import AuditLog
from infrastructure.composition import build_services
from infrastructure.privacy.datakeys import MemoryDataKeys
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40
CREDENTIALS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing", "s3_region": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, in a thread of this process, on a free loopback port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _bucket(endpoint: str) -> str:
    name = f"ledgerdesk-{uuid.uuid4().hex[:12]}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["files", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "files":
        return FileBlobStore(tmp_path / "blobs")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return S3BlobStore(
        f"s3://{_bucket(endpoint)}/attachments",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )


def _store(blobs: BlobStore, max_bytes: int = 1024 * 1024, types: str | None = None) -> AttachmentStore:
    policy = AttachmentPolicy(max_bytes=max_bytes) if types is None else AttachmentPolicy.parse(max_bytes, types)
    return AttachmentStore(blobs, MemoryDataKeys(), policy)


def _read(store: AttachmentStore, tenant: str, attachment: Attachment) -> bytes:
    return b"".join(store.open(tenant, attachment).chunks)


def test_a_stored_file_reads_back_byte_for_byte_with_its_hash(blobs: BlobStore) -> None:
    store = _store(blobs)
    attachment = store.store("acme", "bob", "报告.pdf", io.BytesIO(PDF))
    assert (attachment.name, attachment.size, attachment.content_type) == ("报告.pdf", len(PDF), "application/pdf")
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert _read(store, "acme", attachment) == PDF


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=3000).filter(lambda t: "\x00" not in t and t.strip()))
def test_any_text_file_reads_back_the_same(blobs: BlobStore, text: str) -> None:
    store = _store(blobs, types="*")  # some texts look like a format (a shell script, RTF): every type here
    data = text.encode()
    attachment = store.store("acme", "bob", "notes.txt", data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert _read(store, "acme", attachment) == data


def test_a_file_is_read_only_within_its_tenant(blobs: BlobStore) -> None:
    store = _store(blobs)
    attachment = store.store("acme", "bob", "a.pdf", PDF)
    with pytest.raises(AttachmentNotStoredError):  # another tenant's path holds nothing
        _read(store, "globex", attachment)


def test_refused_files_leave_nothing_behind(blobs: BlobStore, tmp_path: Path) -> None:
    store = _store(blobs, max_bytes=1000)
    with pytest.raises(AttachmentTooLargeError):
        store.store("acme", "bob", "big.pdf", PDF)
    with pytest.raises(AttachmentTypeError):
        store.store("acme", "bob", "tool.exe", b"MZ\x90\x00" + bytes(100))
    accepted = store.store("acme", "bob", "small.pdf", PDF[:1000])
    assert blobs.exists(_path_of(store, "acme", accepted.blob))
    if isinstance(blobs, FileBlobStore):
        assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [
            tmp_path / "blobs" / _path_of(store, "acme", accepted.blob)
        ]


def _path_of(store: AttachmentStore, tenant: str, blob: str) -> str:
    return f"{hashlib.sha256(tenant.encode()).hexdigest()[:32]}/{blob}"


def test_a_persons_same_file_is_kept_once_and_two_people_never_share_one(blobs: BlobStore) -> None:
    store = _store(blobs)
    first, again = store.store("acme", "bob", "a.pdf", PDF), store.store("acme", "bob", "b.pdf", PDF)
    carols = store.store("acme", "carol", "a.pdf", PDF)
    assert first.blob == again.blob
    assert carols.sha256 == first.sha256
    assert carols.blob != first.blob


def test_an_erased_owners_file_cannot_be_read(blobs: BlobStore) -> None:
    store = _store(blobs)
    attachment = store.store("acme", "bob", "a.pdf", PDF)
    store.data_keys.destroy("acme", "bob")
    with pytest.raises(AttachmentErasedError):
        store.open("acme", attachment)
    # Bob writing again gets a new key: the same file is a new blob, the old one stays unreadable.
    anew = store.store("acme", "bob", "a.pdf", PDF)
    assert anew.blob != attachment.blob
    with pytest.raises(AttachmentErasedError):
        store.open("acme", attachment)


BOB = Actor("bob", ActorKind.REQUESTER, role="customer")
ADMIN = Actor("root-admin", ActorKind.AGENT, role="admin")


@pytest.mark.parametrize("where", ["files", "s3"])
def test_erasure_makes_a_commented_file_unreadable_and_the_audit_chain_still_verifies(
    sql_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest, where: str
) -> None:
    if where == "s3":
        endpoint: str = request.getfixturevalue("s3_endpoint")
        blob_settings = {"blob_url": f"s3://{_bucket(endpoint)}", "s3_endpoint_url": endpoint, **CREDENTIALS}
    else:
        blob_settings = {"blob_dir": str(tmp_path / "blobs")}
    services = build_services(Settings.model_validate(sql_settings.model_dump() | blob_settings), clock=TickingClock())
    services.start_projections()  # an erasure waits for the read models
    try:
        desk = services.desk
        ticket_id = desk.open_ticket(tenant="acme", title="Scan", requester_id="bob", by=BOB, via="web").ticket_id
        attachment = services.attachments.store("acme", "bob", "passport.pdf", PDF)
        desk.add_comment(ticket_id, "my passport", public=True, attachments=[attachment], by=BOB, via="web")
        recorded = desk.get_ticket(ticket_id).comments[0].attachments[0]
        assert recorded["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert _read(services.attachments, "acme", attachment) == PDF
        assert AuditLog(desk).verify().ok

        services.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

        with pytest.raises(AttachmentErasedError):
            services.attachments.open("acme", attachment)
        after = build_services(Settings.model_validate(sql_settings.model_dump() | blob_settings), clock=TickingClock())
        try:
            replayed = after.desk.get_ticket(ticket_id).comments[0].attachments[0]
            assert replayed["sha256"] == recorded["sha256"]  # the history keeps the hash, not the file
            assert AuditLog(after.desk).verify().ok
        finally:
            after.close()
    finally:
        services.close()
