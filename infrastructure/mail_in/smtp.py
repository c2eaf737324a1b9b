"""The SMTP (or LMTP) receiver a mail server delivers to, on aiosmtpd.

`RCPT TO` an address that is no active mailbox is answered `550 5.1.1` at once; the message is
taken in (delivery.py, in a worker thread: the event store is synchronous) after `DATA`, and the
answer is what that delivery came to, 250 only once stored. Over `LEDGERDESK_MAIL_MAX_BYTES`
aiosmtpd itself answers 552 (`data_size_limit`, also advertised as the SIZE extension). In LMTP
each recipient gets its own answer after `DATA`, so one recipient's temporary failure does not
make the server send the message to the others again.
"""

from __future__ import annotations

import asyncio
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from infrastructure.mail_in.codes import Delivered
from infrastructure.mail_in.delivery import Delivery, MailIn


class MailHandler:
    """aiosmtpd's handler: checks recipients and takes messages in through `MailIn`."""

    def __init__(self, mail_in: MailIn, *, lmtp: bool) -> None:
        self.mail_in = mail_in
        self.lmtp = lmtp

    async def handle_RCPT(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept a recipient that is an active mailbox; 550 5.1.1 otherwise, 451 when that cannot be told now."""
        try:
            mailbox = await asyncio.get_running_loop().run_in_executor(None, self.mail_in.mailbox, address)
        except Exception:  # the store away: the server asks again later
            return Delivered.TEMPORARY.value.smtp()
        if mailbox is None:
            return Delivered.UNKNOWN_MAILBOX.value.smtp(f"<{address}>: no such mailbox here")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Take the message in for each recipient: one answer (SMTP) or one per recipient (LMTP)."""
        raw = envelope.original_content or b""
        sender = envelope.mail_from
        loop = asyncio.get_running_loop()
        results: list[Delivery] = []
        for recipient in envelope.rcpt_tos:
            results.append(await loop.run_in_executor(None, self.mail_in.deliver, raw, recipient, sender))
        if self.lmtp:
            return "\r\n".join(r.how.value.smtp() for r in results)
        return _one_answer(results).how.value.smtp()


def _one_answer(results: list[Delivery]) -> Delivery:
    """SMTP answers a message once: a temporary failure of any recipient first (the server retries), else a refusal."""
    for wanted in (lambda d: d.how.value.code // 100 == 4, lambda d: not d.how.value.stored):
        for result in results:
            if wanted(result):
                return result
    return results[0]


class _TooBigSaidPlainly:
    """aiosmtpd answers an over-size message `552 Error: ...`: the same refusal, with its enhanced status code."""

    async def push(self, status: AnyStr) -> None:
        """Send `status`, an over-size refusal as `552 5.3.4`."""
        if isinstance(status, str) and status.startswith("552 Error"):
            status = Delivered.TOO_BIG.value.smtp()
        await super().push(status)  # type: ignore[misc]  # SMTP, after this in the class order


class _Smtp(_TooBigSaidPlainly, SMTP):
    """An SMTP session."""


class _Lmtp(_TooBigSaidPlainly, LMTP):
    """An LMTP session."""


class MailController(Controller):
    """aiosmtpd's threaded controller, serving SMTP or LMTP."""

    def __init__(self, handler: MailHandler, *, host: str, port: int, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(handler, hostname=host, port=port, data_size_limit=max_bytes, **kwargs)
        self.lmtp = handler.lmtp

    def factory(self) -> SMTP:
        """An LMTP or SMTP session for each connection."""
        kind = _Lmtp if self.lmtp else _Smtp
        return kind(self.handler, **self.SMTP_kwargs)
