"""Charsets as mail really uses them: a part or encoded word labelled GB2312 is often GBK or GB18030.

GB18030 is a superset of GBK, which is a superset of GB2312, so reading every one of those labels
as GB18030 decodes what senders meant (mail clients did this for decades). An unknown or broken
label falls back to UTF-8; undecodable bytes become U+FFFD instead of failing the message.
"""

from __future__ import annotations

import codecs
from email.header import decode_header

_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030", "cp936": "gb18030"}
_FALLBACK = "utf-8"


def codec_for(charset: str | None) -> str:
    """The codec to decode text labelled `charset` with."""
    label = (charset or _FALLBACK).strip().strip('"').lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return _FALLBACK


def decoded_text(data: bytes, charset: str | None) -> str:
    """`data` decoded as `charset` says (read as its superset where there is one), never failing."""
    return data.decode(codec_for(charset), errors="replace")


def decoded_header(raw: str) -> str:
    """A raw header value with its RFC 2047 encoded words decoded and its folding undone.

    Bytes the parser kept as surrogate escapes (raw 8-bit headers) are read as UTF-8.
    """
    unfolded = " ".join(line.strip() for line in raw.replace("\r\n", "\n").split("\n"))
    decoded = []
    for chunk, charset in decode_header(unfolded):
        if isinstance(chunk, bytes):
            decoded.append(decoded_text(chunk, charset))
        else:
            decoded.append(chunk)
    joined = "".join(decoded)
    return joined.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
