"""A file's content type from its content, never from its name.

puremagic recognises formats by their signatures in the first bytes. ZIP-based office formats
share the ZIP signature, so a ZIP is told apart by the folder names its first entries carry. A
file no signature matches is `text/plain` when all of it is UTF-8 without NUL bytes (the caller
decodes it as it streams: `TextCheck`), else `application/octet-stream`.
"""

from __future__ import annotations

import codecs
import re

import puremagic

#: How many leading bytes are sniffed (every signature puremagic knows lies within them).
HEAD_BYTES = 8192
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
ZIP = "application/zip"
_ZIP_SIGNATURE = b"PK\x03\x04"
_OOXML = "application/vnd.openxmlformats-officedocument."
# The folder an Office Open XML package's parts live in names the kind of document.
_OOXML_FOLDERS = (
    (b"word/", _OOXML + "wordprocessingml.document"),
    (b"xl/", _OOXML + "spreadsheetml.sheet"),
    (b"ppt/", _OOXML + "presentationml.presentation"),
)
# An OpenDocument package's first entry, stored uncompressed, is the file `mimetype` holding its type.
_OPENDOCUMENT = re.compile(rb"mimetype(application/vnd\.oasis\.opendocument\.[a-z.-]+)")


class TextCheck:
    """Whether the bytes fed so far, in order, are UTF-8 text without NUL bytes."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.is_text = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Decode the next chunk (a character may span chunks); `final` on the last one."""
        if not self.is_text:
            return
        if b"\x00" in chunk:
            self.is_text = False
            return
        try:
            self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            self.is_text = False


def sniff(head: bytes, *, is_text: bool) -> str:
    """The media type of a file whose first bytes are `head` (see the module docstring)."""
    if head.startswith(_ZIP_SIGNATURE):
        return _zip_kind(head)
    found = _signature(head)
    if found is not None:
        return found
    return TEXT if is_text and head else OCTET_STREAM


def _signature(head: bytes) -> str | None:
    if not head:
        return None
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    # The best match first; a match naming no media type says nothing here.
    return next((m.mime_type for m in matches if m.mime_type), None)


def _zip_kind(head: bytes) -> str:
    opendocument = _OPENDOCUMENT.search(head)
    if opendocument is not None:
        return opendocument.group(1).decode("ascii")
    for folder, media_type in _OOXML_FOLDERS:
        if folder in head:
            return media_type
    return ZIP
