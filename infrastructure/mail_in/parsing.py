"""Parse a raw RFC 5322 message once, with the standard library's `email` package, into what the steps need.

Headers are decoded here (encoded words in any charset, GB2312 read as GB18030), the body becomes
text (infrastructure/mail_in/bodies.py), and each attachment an `IncomingFile` with its decoded
name. Nothing after this module reads the raw message again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses

from infrastructure.mail_in.bodies import html_as_text, sanitised_html
from infrastructure.mail_in.charsets import decoded_header, decoded_text
from infrastructure.mail_in.files import IncomingFile

_TRACKED = ("auto-submitted", "x-autoreply", "x-autorespond", "precedence", "return-path")


class UnreadableMessageError(Exception):
    """The bytes are no message the desk can take in (no sender address, say)."""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """A message as read once: decoded headers, body text, sanitised HTML and files."""

    message_id: str | None
    sender: str  # the From address as written (normalised later)
    sender_name: str | None
    recipients: tuple[str, ...]  # Delivered-To, X-Original-To, To: where the message says it went, in that order
    subject: str
    date: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    html: str | None  # sanitised
    files: tuple[IncomingFile, ...]
    headers: dict[str, list[str]] = field(default_factory=dict)  # the loop-relevant ones, lower-case names


def parse(raw: bytes) -> ParsedMail:
    """Read the message, or UnreadableMessageError saying why it cannot be taken in."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # the default policy makes EmailMessage objects
    raw_headers = [(name.lower(), value) for name, value in message.raw_items()]
    headers = {name: [decoded_header(str(v)) for n, v in raw_headers if n == name] for name in _TRACKED}
    name, sender = _first_address(_all(raw_headers, "from"))
    if not sender or "@" not in sender:
        msg = "the message has no From address"
        raise UnreadableMessageError(msg)
    text_part = _body(message, "plain")
    html_part = _body(message, "html")
    html = None if html_part is None else sanitised_html(_part_text(html_part))
    text = _part_text(text_part) if text_part is not None else (html_as_text(html) if html is not None else "")
    message_id = _first(raw_headers, "message-id")
    return ParsedMail(
        message_id=message_id.strip() if message_id and message_id.strip() else None,
        sender=sender,
        sender_name=name or None,
        recipients=tuple(
            address
            for header in ("delivered-to", "x-original-to", "to")
            for _, address in getaddresses(_all(raw_headers, header))
            if address
        ),
        subject=(_first(raw_headers, "subject") or "").strip(),
        date=_first(raw_headers, "date"),
        in_reply_to=tuple(_all(raw_headers, "in-reply-to")),
        references=tuple(_all(raw_headers, "references")),
        text=text.replace("\r\n", "\n").strip(),
        html=html,
        files=tuple(_files(message, skip=(text_part, html_part))),
        headers=headers,
    )


def _all(raw_headers: list[tuple[str, str]], name: str) -> list[str]:
    return [decoded_header(str(value)) for n, value in raw_headers if n == name]


def _first(raw_headers: list[tuple[str, str]], name: str) -> str | None:
    found = _all(raw_headers, name)
    return found[0] if found else None


def _first_address(values: list[str]) -> tuple[str, str]:
    for name, address in getaddresses(values):
        if address:
            return name.strip(), address.strip()
    return "", ""


def _body(message: EmailMessage, kind: str) -> Message | None:
    part = message.get_body(preferencelist=(kind,))
    return part if part is not None and part.get_content_subtype() == kind else None


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return decoded_text(data, part.get_content_charset())


def _files(message: EmailMessage, *, skip: tuple[Message | None, ...]) -> list[IncomingFile]:
    files: list[IncomingFile] = []
    for part in message.walk():
        if part.is_multipart() or any(part is body for body in skip):
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        name = decoded_header(filename) if filename else f"attachment-{len(files) + 1}"
        files.append(
            IncomingFile(
                name=name.strip() or f"attachment-{len(files) + 1}",
                content_type=part.get_content_type(),
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return files
