"""Where sealed files are kept: a directory of the local file system, or an S3 bucket (s3.py).

A blob's name is a relative path of `/`-separated parts made of letters, digits, `.`, `_` and `-`
(store.py builds them); a blob is written once, whole, and never changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from infrastructure.attachments.sealing import Readable

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


class BlobMissingError(Exception):
    """No blob has that name."""


def checked_name(name: str) -> str:
    """`name` if it is a blob name (no empty, `.` or `..` parts, nothing absolute), else ValueError."""
    if not _NAME.fullmatch(name) or any(part in (".", "..") for part in name.split("/")):
        msg = f"not a blob name: {name!r}"
        raise ValueError(msg)
    return name


class ReadableBlob(Readable, Protocol):
    """An open blob: read it, then close it."""

    def close(self) -> None:
        """Release the file or connection."""
        ...


class BlobStore(Protocol):
    """Where blobs live."""

    def exists(self, name: str) -> bool:
        """Whether a blob of that name is stored."""
        ...

    def put(self, name: str, source: BinaryIO) -> None:
        """Store the bytes of `source` (read from its start) under `name`, whole or not at all."""
        ...

    def open(self, name: str) -> ReadableBlob:
        """The stored blob for reading; BlobMissingError if there is none."""
        ...


class FileBlobStore:
    """Blobs as files under a directory (LEDGERDESK_BLOB_DIR), made when the first one is stored.

    A blob is written to a temporary file beside its place, flushed to disk, then renamed into
    place, so a reader never sees half a file and a crash leaves at most a `.tmp-*` file behind.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*checked_name(name).split("/"))

    def exists(self, name: str) -> bool:
        """Whether the file is there."""
        return self._path(name).is_file()

    def put(self, name: str, source: BinaryIO) -> None:
        """Copy `source` to a temporary file, then rename it into place."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as out:
                shutil.copyfileobj(source, out)
                out.flush()
                os.fsync(out.fileno())
            Path(temporary).replace(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):  # already renamed, or never made
                Path(temporary).unlink()
            raise

    def open(self, name: str) -> ReadableBlob:
        """The file, open for reading."""
        try:
            return self._path(name).open("rb")
        except FileNotFoundError:
            raise BlobMissingError(name) from None
