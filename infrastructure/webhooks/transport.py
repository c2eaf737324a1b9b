"""One HTTP POST of a delivery, to the very address the SSRF check passed, with timeouts (the standard library).

The host name is still what the request names (`Host`, and TLS's server name and certificate
check), but the connection goes to the address resolved and checked for this attempt, so the
name cannot be made to resolve elsewhere between the check and the call. Redirects are not
followed (a 3xx is a failed attempt: a redirect could lead anywhere), proxies from the
environment are not used, and at most `ANSWER_BYTES` of an answer are read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """What the endpoint answered, and how long the attempt took."""

    status: int
    latency_ms: float


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, address: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `url` through `address`; the answer's status (OSError when there was none)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(host, port, address, timeout, ssl.create_default_context())
        if https
        else _PinnedHTTPConnection(host, port, address, timeout)
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(ANSWER_BYTES)
        return Answer(response.status, (time.perf_counter() - started) * 1000)
    except http.client.HTTPException as error:
        raise OSError(f"bad HTTP answer: {error!r}") from None
    finally:
        connection.close()
