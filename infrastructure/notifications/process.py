"""The notifier: the enqueuer (under the lease) and a sender, in one background thread.

It wakes on news of the log (a save here, or on PostgreSQL anywhere) to enqueue at once, and
looks every `poll_seconds` in any case for retries that came due. Run by `ledgerdesk worker`
(`--only notifications`) and, on the embedded SQLite default, inside `serve`; off (and saying
so) when no LEDGERDESK_SMTP_URL is set.
"""

from __future__ import annotations

import logging
import threading

from infrastructure.notifications.enqueuer import BATCH_SIZE, Enqueuer
from infrastructure.notifications.sender import Sender

log = logging.getLogger("ledgerdesk.notifications")


class NotificationProcess:
    """Enqueues and sends in a daemon thread until stopped."""

    def __init__(self, enqueuer: Enqueuer, sender: Sender, *, poll_seconds: float, news: threading.Event) -> None:
        self.enqueuer = enqueuer
        self.sender = sender
        self.poll_seconds = min(poll_seconds, enqueuer.lease.seconds / 4)  # renew the lease well before it runs out
        self._news = news
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        """One round: enqueue a batch (and record outcomes), then attempt what is due; (events read, claimed)."""
        return self.enqueuer.run_once(), self.sender.run_once()

    def start(self) -> None:
        """Run in a daemon thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ledgerdesk-notifications", daemon=True)
        self._thread.start()
        log.info("notifier sending through %s", self.sender.server.describe())

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the attempts in hand (their outcomes recorded), and give the lease up."""
        self._stopping.set()
        self._news.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sender.close()
        try:
            self.enqueuer.lease.release()
        except Exception:  # the database may be gone already; the lease then runs out by itself
            log.warning("could not release the notification lease", exc_info=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._news.clear()
            try:
                read, claimed = self.run_once()
            except Exception:
                log.exception("notification round failed; trying again")
                self._stopping.wait(1.0)
                continue
            if read < BATCH_SIZE and claimed == 0:
                self._news.wait(self.poll_seconds)


class NotifierOff:
    """What runs in the notifier's place when no SMTP server is configured: nothing (it said so at start)."""

    def stop(self) -> None:
        """Nothing runs, so nothing stops."""
