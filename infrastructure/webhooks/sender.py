"""The sender: claims due deliveries and makes one attempt of each, signed, to the checked address.

Any number of senders may run (each `ledgerdesk worker` running `webhooks` has one): each claims
due deliveries for itself (infrastructure/webhooks/deliveries.py), so no attempt is made twice,
and a ticket's deliveries to an endpoint go one after the other, in log order.

An attempt is delivered on a 2xx answer. Anything else (another status, no answer within the
timeout, a refused address, a connection refused) is a failed attempt: tried again after an
exponential backoff with jitter, with the same `webhook-id`, until `max_attempts`, then given up
(`failed`). Every failed attempt counts against the endpoint; after `disable_after` of them in a
row the endpoint is disabled (an event saying why) and its pending deliveries are held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic_core import to_json

from domain.errors import NotFoundError
from domain.helpdesk import HelpDesk
from domain.webhooks.registry import Endpoint
from infrastructure.readmodels.feed import EventFeed, feed_item
from infrastructure.readmodels.store import ReadModels
from infrastructure.webhooks import transport
from infrastructure.webhooks.addresses import AddressPolicy, RefusedAddressError
from infrastructure.webhooks.backoff import Backoff
from infrastructure.webhooks.deliveries import Delivery
from infrastructure.webhooks.signing import signed_headers
from infrastructure.webhooks.store import WebhookStore

log = logging.getLogger("ledgerdesk.webhooks")

Post = Callable[[str, str, bytes, dict[str, str]], transport.Answer]


class AttemptError(Exception):
    """An attempt could not be made or was not answered; the message says why (shown in the delivery)."""


class Sender:
    """Makes the attempts of due deliveries, `concurrency` at a time."""

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        store: WebhookStore,
        policy: AddressPolicy,
        *,
        holder: str,
        backoff: Backoff,
        timeout: float,
        max_attempts: int,
        disable_after: int,
        concurrency: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.feed = EventFeed(desk, read_models)
        self.store = store
        self.policy = policy
        self.holder = holder
        self.backoff = backoff
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.disable_after = disable_after
        self.concurrency = concurrency
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ledgerdesk-webhook")

    def run_once(self) -> int:
        """Claim due deliveries and attempt each; how many were claimed."""
        claimed = self.store.deliveries.claim(
            holder=self.holder, now=self.clock(), limit=self.concurrency * 2, hold=self.timeout * 3 + 5
        )
        list(self._pool.map(self.attempt, claimed))  # every attempt done (or its error raised) before the next look
        return len(claimed)

    def close(self) -> None:
        """Let the attempts in hand finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    def attempt(self, delivery: Delivery) -> None:
        """One attempt of a claimed delivery, its outcome recorded."""
        try:
            endpoint = self.desk.webhook(delivery.tenant, delivery.endpoint_id)
        except NotFoundError:
            self.store.deliveries.release(delivery, holder=self.holder)  # deleted meanwhile: its rows go with it
            return
        if not endpoint.enabled:
            self.store.deliveries.pause(endpoint.id)
            return
        try:
            answer = self._post(endpoint, delivery)
        except AttemptError as error:
            self._failed(delivery, endpoint, None, None, str(error))
            return
        if 200 <= answer.status < 300:  # what the specification counts as delivered
            if self.store.deliveries.delivered(
                delivery, holder=self.holder, now=self.clock(), status=answer.status, latency_ms=answer.latency_ms
            ):
                self.store.health.reset(endpoint.id)
            return
        self._failed(delivery, endpoint, answer.status, answer.latency_ms, f"HTTP {answer.status}")

    def _post(self, endpoint: Endpoint, delivery: Delivery) -> transport.Answer:
        entry = self.feed.entry_at(delivery.position)
        if entry is None:
            msg = f"no event at position {delivery.position}"
            raise AttemptError(msg)
        body = to_json(feed_item(entry))
        now = self.clock()
        secrets = self.store.secrets.in_use(endpoint.id, now=now)
        if not secrets:
            msg = "the endpoint has no signing secret; rotate it"
            raise AttemptError(msg)
        parts = urlsplit(endpoint.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = self.policy.resolve(parts.hostname or "", port)
            headers = signed_headers(secrets, delivery.id, datetime.fromtimestamp(now, UTC), body)
            return transport.post(endpoint.url, address, body, headers, timeout=self.timeout)
        except RefusedAddressError as error:
            raise AttemptError(f"refused: {error}") from None
        except OSError as error:
            raise AttemptError(f"no answer: {error}") from None

    def _failed(
        self, delivery: Delivery, endpoint: Endpoint, status: int | None, latency_ms: float | None, error: str
    ) -> None:
        now = self.clock()
        tries = delivery.tries + 1
        retry_at = None if tries >= self.max_attempts else now + self.backoff.delay(tries)
        recorded = self.store.deliveries.failed(
            delivery, holder=self.holder, now=now, status=status, latency_ms=latency_ms, error=error, retry_at=retry_at
        )
        if not recorded:
            return  # the claim ran out and another sender has the delivery: its outcome counts
        failures = self.store.health.failed(endpoint.id)
        if failures >= self.disable_after:
            self._disable(delivery.tenant, endpoint, failures, error)

    def _disable(self, tenant: str, endpoint: Endpoint, failures: int, last: str) -> None:
        try:  # an admin changing the registry at the same moment: the command is carried out again (domain/races.py)
            self.desk.disable_failing_webhook(tenant=tenant, endpoint_id=endpoint.id, failures=failures, last=last)
        except NotFoundError:
            return
        held = self.store.deliveries.pause(endpoint.id)
        log.warning("webhook %s disabled after %s failed attempts in a row; %s held back", endpoint.id, failures, held)
