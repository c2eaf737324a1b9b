"""What a mail server is told: one answer per way a delivery can end, as an SMTP reply and as a pipe's exit code.

The exit codes are sysexits(3), as Postfix's and Exim's pipe transports read them: 75 (EX_TEMPFAIL)
makes the server keep the message and try again; the others bounce it with the message printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Answer:
    """An SMTP reply (code, enhanced status, text) and the exit code `mail-in --stdin` ends with."""

    code: int
    status: str
    text: str
    exit_code: int

    def smtp(self, detail: str | None = None) -> str:
        """The SMTP reply line."""
        return f"{self.code} {self.status} {detail or self.text}"

    @property
    def stored(self) -> bool:
        """Whether the sender may forget the message (it is on record, or was before)."""
        return self.code == 250


class Delivered(Enum):
    """How a delivery ended."""

    STORED = Answer(250, "2.0.0", "OK: stored", 0)
    DUPLICATE = Answer(250, "2.0.0", "OK: stored before (same Message-ID)", 0)
    SET_ASIDE = Answer(250, "2.0.0", "OK: automatic message recorded, no ticket", 0)
    UNKNOWN_MAILBOX = Answer(550, "5.1.1", "no such mailbox here", 67)  # EX_NOUSER
    SENDER_REFUSED = Answer(550, "5.7.1", "this mailbox takes mail only from senders the help desk knows", 77)
    UNREADABLE = Answer(554, "5.6.0", "the message cannot be read", 65)  # EX_DATAERR
    TOO_BIG = Answer(552, "5.3.4", "message too big", 65)
    TEMPORARY = Answer(451, "4.3.0", "the message could not be stored now; try again later", 75)  # EX_TEMPFAIL
