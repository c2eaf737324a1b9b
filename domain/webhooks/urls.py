"""The address of a webhook endpoint, as far as the text of it tells: http or https, a host, nothing hidden.

Whether the host may be called at all (no private, loopback, link-local or metadata address) is
decided by the webhook process on the address it resolves to, at each delivery
(infrastructure/webhooks/addresses.py); a URL naming such an address outright is refused when
it is registered too.
"""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import urlsplit

from domain.errors import InvalidValueError
from domain.values import CONTROL_CHARACTERS

URL_MAX = 2048
SCHEMES = ("http", "https")
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
#: The form a webhook URL takes, for the OpenAPI document: http(s), a host (a name or a bracketed IPv6
#: literal), a port from 1 to 65535, no credentials, spaces or fragment. What the host may be is checked apart.
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[^\s\x00-\x1F\x85/?#@:\[\]]+|\[[0-9A-Fa-f:.]+\])"
    rf"(?::{_PORT})?(?:[/?][^\s\x00-\x1F\x85#]*)?$"
)


def webhook_url(value: str) -> str:
    """`value` if it is an absolute http(s) URL with a host and no credentials or fragment, else InvalidValueError."""
    if not isinstance(value, str) or not value or len(value) > URL_MAX:
        _refuse(f"must be 1 to {URL_MAX} characters")
    if any(c in CONTROL_CHARACTERS or c.isspace() for c in value):
        _refuse("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        _refuse(f"is not a URL ({error})")
    if parts.scheme not in SCHEMES:
        _refuse(f"must use http or https (got {parts.scheme or 'no scheme'!r})")
    if not parts.hostname:
        _refuse("must name a host")
    if parts.username is not None or parts.password is not None:
        _refuse("must not carry credentials (user:password@); receivers verify the signature instead")
    if parts.fragment:
        _refuse("must not have a fragment (#...)")
    if port == 0:
        _refuse("must not use port 0")
    return value


def _refuse(why: str) -> NoReturn:
    msg = f"url {why}"
    raise InvalidValueError(msg)
