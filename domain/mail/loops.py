"""Which messages are automatic: auto-replies, bounces, list mail and loops never open a ticket.

RFC 3834 says an automatic message carries `Auto-Submitted` with anything but `no`; older
responders say so with `X-Autoreply`/`X-Autorespond` or `Precedence: bulk|junk|list`; bounces
come with an empty return path (`MAIL FROM:<>`) or from MAILER-DAEMON or postmaster. Answering
any of them (a ticket's notification) could start a loop, so they are recorded and set aside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def automatic_reason(
    headers: Mapping[str, Sequence[str]], *, return_path: str | None, sender: str | None
) -> str | None:
    """Why the message is automatic, or None for a message a person wrote.

    `headers` maps lower-case header names to their values; `return_path` is the envelope sender
    (`MAIL FROM`) or the `Return-Path` header, `""` when empty (`<>`) and None when unknown;
    `sender` is the `From` address.
    """
    for value in headers.get("auto-submitted", ()):
        keyword = value.split(";", 1)[0].strip().lower()
        if keyword and keyword != "no":
            return f"Auto-Submitted: {keyword}"
    for name in ("x-autoreply", "x-autorespond"):
        if headers.get(name):
            return f"{name.title()} present"
    for value in headers.get("precedence", ()):
        if value.strip().lower() in _AUTOMATIC_PRECEDENCE:
            return f"Precedence: {value.strip().lower()}"
    if return_path is not None and return_path.strip().strip("<>").strip() == "":
        return "empty return path (a bounce)"
    local = (sender or "").rpartition("@")[0].lower() if sender and "@" in sender else (sender or "").lower()
    if local in _DAEMONS:
        return f"sent by {local}"
    return None
