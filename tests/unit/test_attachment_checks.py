"""What a file is taken for and whether it is accepted: sniffing, limits, the allowlist, sealing, names."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.routers.attachments import content_disposition
from domain.errors import InvalidValueError
from domain.values import Attachment
from infrastructure.attachments.policy import AttachmentPolicy
from infrastructure.attachments.sealing import CHUNK_BYTES, Sealer, UnreadableBlobError, opened
from infrastructure.attachments.sniffing import TextCheck, sniff
from infrastructure.settings import Settings

SECRET = bytes(range(32))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20)
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(20)


def _zip(*names: str, first: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first is not None:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1])  # stored, as OpenDocument's `mimetype`
        for name in names:
            archive.writestr(name, "content")
    return buffer.getvalue()


def _text_check(data: bytes, *, cut: int) -> bool:
    check = TextCheck()
    check.feed(data[:cut])
    check.feed(data[cut:])
    check.feed(b"", final=True)
    return check.is_text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (JPEG, "image/jpeg"),
        (b"GIF89a" + bytes(10), "image/gif"),
        (
            _zip("[Content_Types].xml", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _zip("[Content_Types].xml", "xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (_zip("notes.txt"), "application/zip"),
        (
            _zip("content.xml", first=("mimetype", "application/vnd.oasis.opendocument.text")),
            "application/vnd.oasis.opendocument.text",
        ),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/vnd.microsoft.portable-executable"),
    ],
)
def test_a_file_is_known_by_its_content(content: bytes, expected: str) -> None:
    assert sniff(content, is_text=False) == expected


def test_a_file_no_signature_matches_is_text_only_when_it_is_utf8() -> None:
    assert sniff("故障报告: 打印机".encode(), is_text=True) == "text/plain"
    assert sniff(b"\x01\x02\x03\xfe", is_text=False) == "application/octet-stream"
    assert sniff(b"", is_text=True) == "application/octet-stream"


def test_the_name_plays_no_part() -> None:
    # A PNG called report.pdf is a PNG: there is no name to sniff, by design.
    assert sniff(PNG, is_text=False) == "image/png"


@given(st.text(max_size=200), st.integers(min_value=0, max_value=800))
def test_utf8_text_is_text_however_it_is_cut(text: str, cut: int) -> None:
    data = text.replace("\x00", "").encode()
    assert _text_check(data, cut=min(cut, len(data)))


def test_invalid_utf8_and_nul_bytes_are_not_text() -> None:
    assert not _text_check(b"caf\xe9", cut=2)
    assert not _text_check(b"plain\x00text", cut=3)
    assert not _text_check("中".encode()[:2], cut=1)  # cut off in the middle of a character


def test_the_allowlist_takes_exact_types_prefixes_and_a_star() -> None:
    policy = AttachmentPolicy.parse(10, " image/* , Application/PDF ")
    assert policy.allows("image/png")
    assert policy.allows("application/pdf")
    assert not policy.allows("text/plain")
    assert AttachmentPolicy.parse(10, "*").allows("application/x-anything")
    assert not AttachmentPolicy.parse(10, "").allows("text/plain")


def test_the_default_allowlist_takes_office_files_and_refuses_programs() -> None:
    policy = AttachmentPolicy()
    for accepted in ("application/pdf", "image/jpeg", "text/plain", "application/zip"):
        assert policy.allows(accepted)
    assert policy.allows("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert not policy.allows("application/vnd.microsoft.portable-executable")
    assert not policy.allows("application/octet-stream")
    assert policy.max_bytes == 25 * 1024 * 1024


def _sealed(data: bytes, tenant: str = "acme") -> bytes:
    out = io.BytesIO()
    sealer = Sealer(SECRET, tenant, out)
    for start in range(0, len(data), 10_000):
        sealer.feed(data[start : start + 10_000])
    sealer.finish()
    return out.getvalue()


@settings(max_examples=30, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.integers(0, 3 * CHUNK_BYTES + 5).map(lambda size: bytes(i % 251 for i in range(size))),
    )
)
def test_a_sealed_file_opens_to_the_same_bytes(data: bytes) -> None:
    sealed = _sealed(data)
    assert len(data) < 16 or data not in sealed  # the plaintext is nowhere in the sealed bytes
    assert b"".join(opened(SECRET, "acme", io.BytesIO(sealed))) == data


@pytest.mark.parametrize("size", [0, 10, CHUNK_BYTES, 2 * CHUNK_BYTES + 1])
def test_a_sealed_file_cut_off_altered_moved_or_under_another_key_does_not_open(size: int) -> None:
    sealed = _sealed(bytes(size))
    cut = len(sealed) - (CHUNK_BYTES + 16 if size >= CHUNK_BYTES else 1)
    altered = bytearray(sealed)
    altered[-1] ^= 1
    for source, secret, tenant in (
        (sealed[:cut], SECRET, "acme"),
        (bytes(altered), SECRET, "acme"),
        (sealed, SECRET, "globex"),
        (sealed, bytes(32), "acme"),
        (b"not sealed", SECRET, "acme"),
    ):
        with pytest.raises(UnreadableBlobError):
            b"".join(opened(secret, tenant, io.BytesIO(source)))


def test_an_attachment_of_an_older_event_has_no_hash_and_no_file() -> None:
    older = Attachment.from_dict({"name": "error.png", "size": 2048, "content_type": "image/png"})
    assert (older.sha256, older.blob) == ("", "")
    assert older.as_dict() == {"name": "error.png", "size": 2048, "content_type": "image/png"}
    stored = Attachment("a.png", 1, "image/png", sha256="a" * 64, blob="k.1/" + "a" * 64)
    assert Attachment.from_dict(stored.as_dict()) == stored


@pytest.mark.parametrize(
    ("sha256", "blob"), [("A" * 64, ""), ("ab", ""), ("", "../etc/passwd"), ("", "/abs"), ("", "k/../x")]
)
def test_an_attachment_refuses_a_malformed_hash_or_file_name(sha256: str, blob: str) -> None:
    with pytest.raises(InvalidValueError):
        Attachment("a.png", 1, "image/png", sha256=sha256, blob=blob)


def test_a_download_names_its_file_for_old_and_new_clients() -> None:
    assert content_disposition("报告 2026.pdf") == (
        "attachment; filename=\"__ 2026.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%202026.pdf"
    )
    assert (
        content_disposition('a"b\\c\r\n.txt')
        == "attachment; filename=\"a_b_c__.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0A.txt"
    )


@pytest.mark.parametrize("url", ["http://bucket/prefix", "s3://", "s3:///prefix", "bucket"])
def test_an_object_store_url_other_than_s3_is_refused_at_start_up(url: str) -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        Settings(blob_url=url)
    assert Settings(blob_url="s3://files/prod/").blob_url == "s3://files/prod/"
