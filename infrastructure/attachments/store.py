"""The one way files are stored and read back: `AttachmentStore`.

Storing a file streams it once: the first bytes are sniffed, every byte is hashed (SHA-256),
counted against the size limit, checked for UTF-8 text, and sealed with the owner's data key
into a temporary file; only a file within the limits and of an allowed type is then written to
the blob store. The returned `Attachment` is what a comment records (`HelpDesk.add_comment`).

Blob names are `<tenant digest>/<key ref>/<sha256>`: content-addressed within one data key, so
one person's identical files are stored once, while two people's (or one person's before and
after an erasure) never share a blob, and destroying a key leaves no readable copy. The
attachment records `<key ref>/<sha256>`; the tenant part comes from the reader's tenant, so a
file is only ever read within its own tenant. A file stored for a command that then fails is
kept but never referenced (an orphan): harmless, and not collected.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from domain.values import Attachment
from infrastructure.attachments.blobs import BlobMissingError, BlobStore, ReadableBlob
from infrastructure.attachments.errors import (
    AttachmentErasedError,
    AttachmentNotStoredError,
    AttachmentTooLargeError,
    AttachmentTypeError,
)
from infrastructure.attachments.policy import AttachmentPolicy
from infrastructure.attachments.sealing import CHUNK_BYTES, Sealer, UnreadableBlobError, opened
from infrastructure.attachments.sniffing import HEAD_BYTES, TextCheck, sniff
from infrastructure.privacy.datakeys import DataKeys

#: Sealed files up to this size stay in memory on their way to the blob store; larger ones spill to disk.
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Download:
    """A stored file on its way out: its metadata, and its bytes as they are read and checked."""

    attachment: Attachment
    chunks: Iterator[bytes]


class AttachmentStore:
    """Checks, hashes, encrypts and keeps files; reads them back for their tenant (see the module docstring)."""

    def __init__(self, blobs: BlobStore, data_keys: DataKeys, policy: AttachmentPolicy) -> None:
        self.blobs = blobs
        self.data_keys = data_keys
        self.policy = policy

    def store(self, tenant: str, owner_id: str, name: str, data: bytes | BinaryIO) -> Attachment:
        """Keep a file of `owner_id` (its author) and return the attachment a comment records.

        Raises AttachmentTooLargeError beyond the size limit, AttachmentTypeError for a content
        type the allowlist does not name, InvalidValueError for a bad name; none of them stores
        anything.
        """
        Attachment(name, 0, "application/octet-stream")  # refuses a bad name before any work
        source: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
        key = self.data_keys.key_for(tenant, owner_id)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as sealed:
            head, size, digest, is_text = self._seal(source, Sealer(key.secret, tenant, sealed))
            content_type = sniff(head, is_text=is_text)
            if not self.policy.allows(content_type):
                msg = f"files of type {content_type} are not accepted here ({name!r})"
                raise AttachmentTypeError(msg)
            blob = f"{key.ref}/{digest}"
            path = _path(tenant, blob)
            if not self.blobs.exists(path):  # the same person's same file is kept once
                self.blobs.put(path, sealed)  # type: ignore[arg-type]  # a spooled file is a binary file
        return Attachment(name, size, content_type, sha256=digest, blob=blob)

    def _seal(self, source: BinaryIO, sealer: Sealer) -> tuple[bytes, int, str, bool]:
        """Stream `source` into `sealer`: (its first bytes, its size, its SHA-256, whether it is text)."""
        hasher, text, head, size = hashlib.sha256(), TextCheck(), b"", 0
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > self.policy.max_bytes:
                msg = f"a file may be at most {self.policy.max_bytes} bytes"
                raise AttachmentTooLargeError(msg)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            hasher.update(chunk)
            text.feed(chunk)
            sealer.feed(chunk)
        text.feed(b"", final=True)
        sealer.finish()
        return head, size, hasher.hexdigest(), text.is_text

    def open(self, tenant: str, attachment: Attachment) -> Download:
        """The stored file of `attachment`, on `tenant`'s tickets.

        Raises AttachmentNotStoredError for metadata recorded without a file (or a file missing
        from the store) and AttachmentErasedError once the owner's key is destroyed. The bytes
        are checked against the recorded SHA-256 as they are read: a mismatch raises
        UnreadableBlobError at the end, after the last bytes (a download is cut off, not completed).
        """
        if not attachment.blob:
            msg = "this attachment was recorded without a file"
            raise AttachmentNotStoredError(msg)
        ref = attachment.blob.split("/", 1)[0]
        secret = self.data_keys.secret(ref)
        if secret is None:
            msg = "the file's owner was erased; the file can no longer be read"
            raise AttachmentErasedError(msg)
        try:
            blob = self.blobs.open(_path(tenant, attachment.blob))
        except BlobMissingError:
            msg = "the attachment's file is missing from the store"
            raise AttachmentNotStoredError(msg) from None
        return Download(attachment, _checked(opened(secret, tenant, blob), blob, attachment.sha256))


def _path(tenant: str, blob: str) -> str:
    # A digest of the tenant: any tenant name becomes a safe path part of fixed length.
    return f"{hashlib.sha256(tenant.encode()).hexdigest()[:32]}/{blob}"


def _checked(chunks: Iterator[bytes], blob: ReadableBlob, sha256: str) -> Iterator[bytes]:
    """`chunks`, hashed as they pass; the blob is closed at the end, or when the reader stops early."""
    hasher = hashlib.sha256()
    try:
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk
    finally:
        blob.close()
    if hasher.hexdigest() != sha256:
        msg = "the stored file does not match its recorded SHA-256"
        raise UnreadableBlobError(msg)
