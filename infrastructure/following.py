"""A process that follows the event log under a lease, a batch at a time, in a thread of its own.

The trigger runner and the suggester read the log in order and act on some events with ordinary
commands; one process of all hosts does it at a time (the lease, infrastructure/leases.py), and a
batch stops early to renew the lease before it could run out. What each does with an event is its
own `_run`; how it is started, woken, stopped and kept in step with the lease is here.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

from eventsourcing.persistence import Notification

from domain.helpdesk import HelpDesk
from infrastructure.leases import Lease


class LeasedLogFollower(ABC):
    """Runs `_run` on the log's next batch while it holds the lease: one `run_once` at a time, or in a thread."""

    name = "follower"  # the thread's name and what the logs call it

    def __init__(
        self,
        desk: HelpDesk,
        lease: Lease,
        *,
        batch_size: int,
        poll_seconds: float,
        news: threading.Event | None,
        log: logging.Logger,
    ) -> None:
        self.desk = desk
        self.lease = lease
        self.batch_size = batch_size
        self.poll_seconds = min(poll_seconds, lease.seconds / 4)  # a holder renews well before its lease runs out
        self.log = log
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if news is None:  # no news of other processes: this one's saves, and the look every poll_seconds
            news = threading.Event()
            desk.on_saved(lambda _: news.set())
        self._news = news

    def run_once(self) -> int:
        """Act on the next batch of the log, if this process holds the lease; how many events it passed."""
        after = self.lease.acquire()
        if after is None:
            return 0  # another process holds the lease
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        done = self._run(notifications, deadline=time.monotonic() + self.lease.seconds / 2)
        if done and not self.lease.advance(notifications[done - 1].id):
            self.log.warning("the %s lease passed to another process; standing by", self.name)
        return done

    @abstractmethod
    def _run(self, notifications: Sequence[Notification], *, deadline: float) -> int:
        """Act on these events in order until the deadline; how many were passed."""

    def start(self) -> None:
        """Run in a daemon thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"ledgerdesk-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the event in hand (each is one save), and give the lease up."""
        self._stopping.set()
        self._news.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.lease.release()
        except Exception:  # the database may be gone already; the lease then runs out by itself
            self.log.warning("could not release the %s lease", self.name, exc_info=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._news.clear()
            try:
                passed = self.run_once()
            except Exception:
                self.log.exception("%s batch failed; trying again", self.name)
                self._stopping.wait(1.0)
                continue
            if passed < self.batch_size:
                self._news.wait(self.poll_seconds)
