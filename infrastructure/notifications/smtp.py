"""One SMTP submission of a message, to the server LEDGERDESK_SMTP_URL names (the standard library's smtplib).

    smtp://host:port                  plain SMTP (port 25 by default)
    smtp://host:port?starttls=true    upgraded with STARTTLS before anything is sent (port 587 by default)
    smtps://host:port                 TLS from the first byte (port 465 by default)
    smtp://user:password@host:port    with AUTH (user and password percent-encoded)

What the server answers decides the outcome: accepted (250), a temporary failure (a 4xx answer,
no connection, a dropped one, a timeout: tried again later) or a permanent one (a 5xx answer, or a
server that does not offer the AUTH or STARTTLS the URL asks for: given up).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from typing import NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidValueError

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_STARTTLS_PORT = 587
_TRUE = frozenset({"1", "true", "yes", "on"})
_PERMANENT = 500


class TemporaryFailureError(Exception):
    """The message was not accepted this time; trying again later may succeed."""


class PermanentFailureError(Exception):
    """The server refused the message for good (a 5xx answer)."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to submit: host, port, TLS from the start or by STARTTLS, and credentials."""

    host: str
    port: int
    tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """The server an `smtp://` or `smtps://` URL names, or InvalidValueError."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            msg = "the SMTP URL is smtp://[user:password@]host[:port][?starttls=true] or smtps://..."
            raise InvalidValueError(msg)
        query = parse_qs(parts.query)
        starttls = parts.scheme == "smtp" and query.get("starttls", ["false"])[0].lower() in _TRUE
        default = _STARTTLS_PORT if starttls else _DEFAULT_PORTS[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default,
            tls=parts.scheme == "smtps",
            starttls=starttls,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def describe(self) -> str:
        """The server without its credentials, for logs."""
        how = "smtps" if self.tls else "smtp+starttls" if self.starttls else "smtp"
        return f"{how}://{self.host}:{self.port}" + (" (with AUTH)" if self.user else "")


def submit(server: SmtpServer, message: EmailMessage, *, timeout: float, tls: ssl.SSLContext | None = None) -> None:
    """Submit `message` (its From, To and every header already set); raise a failure unless it was accepted."""
    context = tls or (default_tls() if server.tls or server.starttls else None)
    try:
        client = (
            smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
            if server.tls
            else smtplib.SMTP(server.host, server.port, timeout=timeout)
        )
        with client:
            if server.starttls:
                client.starttls(context=context)
            if server.user is not None:
                client.login(server.user, server.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPNotSupportedError as error:  # AUTH or STARTTLS not offered: the settings need changing
        raise PermanentFailureError(f"the server does not support what the SMTP URL asks: {error}") from None
    except smtplib.SMTPRecipientsRefused as error:
        _raise_by_code(min(code for code, _ in error.recipients.values()), str(error.recipients))
    except smtplib.SMTPResponseException as error:
        said = error.smtp_error
        _raise_by_code(error.smtp_code, said.decode(errors="replace") if isinstance(said, bytes) else str(said))
    except (smtplib.SMTPException, OSError) as error:  # no connection, dropped, timed out, TLS failed
        raise TemporaryFailureError(f"{type(error).__name__}: {error}") from None
    if refused:  # some of several recipients refused (we send to one at a time, so not expected)
        _raise_by_code(min(code for code, _ in refused.values()), str(refused))


@cache
def default_tls() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once (loading them costs tens of milliseconds)."""
    return ssl.create_default_context()


def _raise_by_code(code: int, said: str) -> NoReturn:
    text = f"{code} {said}"[:500]
    if code >= _PERMANENT:
        raise PermanentFailureError(text)
    raise TemporaryFailureError(text)
