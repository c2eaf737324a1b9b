"""A reply without its quoted history and signature, as email-reply-parser (GitHub's rules) cuts it."""

from __future__ import annotations

from email_reply_parser import EmailReplyParser


def reply_text(text: str) -> str:
    """What the sender wrote this time: the text above the quote (`On ... wrote:`, `> ...`) and signature."""
    cut: str = EmailReplyParser.parse_reply(text)
    return cut.strip()
