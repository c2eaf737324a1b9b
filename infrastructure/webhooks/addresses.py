"""Which addresses a webhook may reach: public ones, and those the allowlist names (SSRF safety).

A tenant's admin chooses the URL, so without a check a webhook would let them make the server
call its own loopback, the private network behind it, or a cloud's metadata service
(169.254.169.254), and read or change what only the server may. So every address that is not
globally routable (private, loopback, link-local, shared, reserved, documentation, unspecified)
and every multicast address is refused, unless `LEDGERDESK_WEBHOOK_ALLOWLIST` names a network
holding it. The check is made on the addresses the host resolves to, at each delivery, and the
delivery connects to the very address checked: a name that resolved to a public address when
the endpoint was registered cannot point inside later (DNS rebinding). A URL naming a refused
address outright is refused at registration too.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from domain.errors import InvalidValueError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Host names of cloud metadata services, refused whatever they resolve to.
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # IPv4 addresses behind a NAT64 gateway


class RefusedAddressError(Exception):
    """A webhook's host is, or resolves to, an address deliveries may not reach."""


def networks(allowlist: str) -> tuple[Network, ...]:
    """The networks of a comma-separated allowlist (`127.0.0.0/8,::1`)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in allowlist.split(",") if part.strip())


def refusal(address: IPAddress) -> str | None:
    """Why deliveries may not reach `address` (None: a public address they may reach)."""
    address = _embedded_ipv4(address)
    reasons = (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local (where metadata services live)"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not public"),
    )
    return next((reason for refused, reason in reasons if refused), None)


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64), which is what a connection reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


class AddressPolicy:
    """Refuses addresses that are not public, unless the allowlist permits them."""

    def __init__(self, allowlist: Iterable[Network] = ()) -> None:
        self.allowlist = tuple(allowlist)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a delivery may not reach `address`, or None if it may."""
        if any(address in network or _embedded_ipv4(address) in network for network in self.allowlist):
            return None
        return refusal(address)

    def check_url(self, url: str) -> None:
        """At registration: InvalidValueError if the URL's host is itself a refused address or a metadata host.

        `url` is one `domain.webhooks.urls.webhook_url` took (it says what is wrong with any other).
        """
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        if host in METADATA_HOSTS:
            msg = f"url names {host!r}, a cloud metadata service, which webhooks may not call"
            raise InvalidValueError(msg)
        literal = _literal_address(host)
        addresses = [literal] if literal is not None else _local_names(host)
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                msg = (
                    f"url names {host!r}, a {why} address, which webhooks may not call "
                    "(LEDGERDESK_WEBHOOK_ALLOWLIST can permit it)"
                )
                raise InvalidValueError(msg)

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to for `host`: RefusedAddressError if any address it resolves to is refused."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            msg = f"cannot resolve {host!r}: {error}"
            raise RefusedAddressError(msg) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses:
            msg = f"{host!r} resolves to no address"
            raise RefusedAddressError(msg)
        for text in addresses:
            why = self.refusal(ipaddress.ip_address(text.split("%")[0]))
            if why is not None:
                msg = f"{host!r} resolves to {text}, a {why} address (LEDGERDESK_WEBHOOK_ALLOWLIST can permit it)"
                raise RefusedAddressError(msg)
        return addresses[0]


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names outright, in any form a resolver takes (`127.0.0.1`, `2130706433`, `0x7f.1`)."""
    with contextlib.suppress(ValueError):  # not written as an address: the other forms below
        return ipaddress.ip_address(host)
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # the old shorthand and numeric forms
    except OSError:
        return None


def _local_names(host: str) -> Sequence[IPAddress]:
    """What the names of this machine mean, known without asking a resolver."""
    if host == "localhost" or host.endswith(".localhost"):
        return (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
    return ()
