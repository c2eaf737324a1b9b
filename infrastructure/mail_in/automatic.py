"""The loop step: whether a parsed message is automatic (domain/mail/loops.py), with its envelope sender."""

from __future__ import annotations

from domain.mail.loops import automatic_reason
from infrastructure.mail_in.parsing import ParsedMail


def automatic(mail: ParsedMail, envelope_sender: str | None) -> str | None:
    """Why the message is automatic, or None: its headers, the envelope's `MAIL FROM` (or `Return-Path`)."""
    return_path = envelope_sender
    if return_path is None and mail.headers.get("return-path"):
        return_path = mail.headers["return-path"][0]
    return automatic_reason(mail.headers, return_path=return_path, sender=mail.sender)
