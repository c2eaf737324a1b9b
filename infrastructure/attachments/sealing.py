"""Files encrypted in chunks with AES-256-GCM, under a key derived per file from the owner's data key.

Layout: `LDA1`, a 16-byte random salt, then the chunks: each holds up to CHUNK_BYTES of the file
followed by its 16-byte tag. The file's key is HKDF-SHA256(data key, salt); chunk i is sealed with
the nonce i (96 bits) and, as associated data, the tenant, i, and whether it is the last chunk,
so chunks cannot be reordered, cut off or moved to another tenant's file unnoticed. An empty file
is one empty last chunk. Reading and writing hold one chunk in memory, whatever the file's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"LDA1"
SALT_BYTES = 16
TAG_BYTES = 16
CHUNK_BYTES = 64 * 1024
_INFO = b"ledgerdesk attachment"


class Readable(Protocol):
    """Something bytes are read from: a file, an S3 object's body."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes; fewer only at the end."""
        ...


class Writable(Protocol):
    """Something bytes are written to."""

    def write(self, data: bytes, /) -> int:
        """Write all of `data`."""
        ...


class UnreadableBlobError(Exception):
    """A stored file is not what was sealed: another key's, cut off, or altered."""


def _file_key(secret: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(secret)
    return AESGCM(derived)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _associated(tenant: str, index: int, *, last: bool) -> bytes:
    return f"{tenant}|{index}|{int(last)}".encode()


class Sealer:
    """Encrypts a file fed in pieces of any size into `out`; `finish()` after the last piece."""

    def __init__(self, secret: bytes, tenant: str, out: Writable) -> None:
        salt = os.urandom(SALT_BYTES)
        self._aead = _file_key(secret, salt)
        self._tenant = tenant
        self._out = out
        self._pending = bytearray()
        self._index = 0
        out.write(MAGIC + salt)

    def feed(self, data: bytes) -> None:
        """Add the next bytes of the file; full chunks are sealed as they fill (the last one waits for finish)."""
        self._pending += data
        # Keep a full chunk back: only finish() knows whether it is the last one.
        while len(self._pending) > CHUNK_BYTES:
            self._seal(bytes(self._pending[:CHUNK_BYTES]), last=False)
            del self._pending[:CHUNK_BYTES]

    def finish(self) -> None:
        """Seal what is left as the last chunk."""
        self._seal(bytes(self._pending), last=True)
        self._pending.clear()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        associated = _associated(self._tenant, self._index, last=last)
        self._out.write(self._aead.encrypt(_nonce(self._index), chunk, associated))
        self._index += 1


def _read_exactly(source: Readable, size: int) -> bytes:
    """`size` bytes, or fewer only at the end (a network body may answer a read with less)."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def opened(secret: bytes, tenant: str, source: Readable) -> Iterator[bytes]:
    """The file sealed in `source`, chunk by chunk; UnreadableBlobError if it is not intact."""
    header = _read_exactly(source, len(MAGIC) + SALT_BYTES)
    if len(header) != len(MAGIC) + SALT_BYTES or not header.startswith(MAGIC):
        raise UnreadableBlobError("not a sealed attachment")
    aead = _file_key(secret, header[len(MAGIC) :])
    sealed_size = CHUNK_BYTES + TAG_BYTES
    current = _read_exactly(source, sealed_size)
    index = 0
    while True:
        following = _read_exactly(source, sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(index), current, _associated(tenant, index, last=last))
        except InvalidTag:
            raise UnreadableBlobError(f"chunk {index} does not open with this key") from None
        if last:
            return
        current, index = following, index + 1
