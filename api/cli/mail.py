"""`ledgerdesk mail-in`: take e-mail in, as an SMTP/LMTP server (`--listen`) or from a pipe (`--stdin`).

`--stdin` is for a mail server's pipe transport or a mailbox fetcher, in the manner of RT's
`rt-mailgate`: one message on standard input, one line on standard error, and an exit code the
mail server understands (infrastructure/mail_in/codes.py): 0 stored, 75 try again later, 67 no
such mailbox, 77 sender refused, 65 unreadable or too big.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer

from api.cli.context import fail, load_settings, services_from
from infrastructure.composition import build_services
from infrastructure.mail_in.codes import Delivered
from infrastructure.mail_in.parsing import UnreadableMessageError, parse
from infrastructure.mail_in.smtp import MailController, MailHandler

EX_USAGE = 64
EX_CONFIG = 78
_DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "To")


def mail_in(
    listen: Annotated[
        str | None, typer.Option(metavar="HOST:PORT", help="Serve SMTP (or LMTP with --lmtp) on this address.")
    ] = None,
    lmtp: Annotated[bool, typer.Option(help="Speak LMTP instead of SMTP (with --listen).")] = False,
    stdin: Annotated[bool, typer.Option(help="Take in one message from standard input, then exit.")] = False,
    recipient: Annotated[
        str | None,
        typer.Option(help=f"The envelope recipient (with --stdin; default: the {'/'.join(_DELIVERY_HEADERS)} header)."),
    ] = None,
    sender: Annotated[
        str | None, typer.Option(help="The envelope sender (with --stdin), as the mail server has it; '' for <>.")
    ] = None,
) -> None:
    """Take e-mail in for the tenants' mailboxes: new tickets, replies, automatic messages set aside (docs/email.md)."""
    if (listen is None) == (not stdin):
        fail("give one of --listen HOST:PORT or --stdin")
    if stdin:
        raise typer.Exit(code=_from_stdin(recipient, sender))
    assert listen is not None  # checked above
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        fail(f"--listen takes HOST:PORT (got {listen!r})")
    with services_from(load_settings()) as services:
        handler = MailHandler(services.mail_in(), lmtp=lmtp)
        controller = MailController(
            handler, host=host.strip("[]"), port=int(port), max_bytes=services.settings.mail_max_bytes
        )
        controller.start()
        kind = "LMTP" if lmtp else "SMTP"
        typer.echo(f"ledgerdesk: mail-in serving {kind} on {listen} for {services.database.describe()}", err=True)
        _until_stopped()
        controller.stop()
        typer.echo("ledgerdesk: mail-in stopped", err=True)


def _until_stopped() -> None:
    """Block until SIGINT or SIGTERM, so the receiver stops cleanly (as the other long-running commands do)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _from_stdin(recipient: str | None, sender: str | None) -> int:
    """Take in the message on standard input; the exit code (and one line on stderr) says how it went."""
    raw = sys.stdin.buffer.read()
    to = recipient or _recipient_in(raw)
    if not to:
        return _told(EX_USAGE, "no recipient: give --recipient (the envelope recipient)")
    try:
        settings = load_settings()
    except typer.Exit:
        return EX_CONFIG
    try:
        services = build_services(settings)
    except Exception as error:  # the database away at start: the mail server keeps the message and retries
        answer = Delivered.TEMPORARY.value
        return _told(answer.exit_code, f"{answer.smtp()} ({type(error).__name__})")
    try:
        outcome = services.mail_in().deliver(raw, to, sender).how
    finally:
        services.close()
    answer = outcome.value
    return _told(answer.exit_code, answer.smtp())


def _recipient_in(raw: bytes) -> str | None:
    try:
        parsed = parse(raw)
    except UnreadableMessageError:
        return None
    return parsed.recipients[0] if parsed.recipients else None


def _told(code: int, line: str) -> int:
    typer.echo(f"ledgerdesk: mail-in: {line}", err=True)
    return code
