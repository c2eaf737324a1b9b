"""News of the event log for the processes that follow it (projections, router, triggers).

A follower waits for news instead of asking the database over and over: a save in this process
is news at once (the application's save hook); on PostgreSQL a save in any process is news too,
through one LISTEN connection per process on the channel eventsourcing NOTIFYs on each insert.
Followers still look every so often by themselves, which covers a lost notification and other
processes on SQLite, so an idle process costs its database next to nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from domain.helpdesk import HelpDesk

log = logging.getLogger("ledgerdesk.log_signal")

Connect = Callable[[], psycopg.Connection[Any]]
RECONNECT_SECONDS = 1.0


class LogSignal:
    """Sets each subscriber's event when the log may have grown."""

    def __init__(self, desk: HelpDesk, *, listen: tuple[Connect, str] | None = None) -> None:
        self._listen = listen  # (how to open the LISTEN connection, the channel), on PostgreSQL
        self._subscribers: list[threading.Event] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        desk.on_saved(lambda _: self.notify())

    def subscribe(self) -> threading.Event:
        """An event set whenever there is news (clear it before looking, then wait on it)."""
        news = threading.Event()
        with self._lock:
            self._subscribers.append(news)
        self._start_listening()
        return news

    def notify(self) -> None:
        """Tell every subscriber that the log may have grown."""
        with self._lock:
            subscribers = list(self._subscribers)
        for news in subscribers:
            news.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening (subscribers are woken once, so they notice their own stop)."""
        self._stopping.set()
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _start_listening(self) -> None:
        with self._lock:
            if self._listen is None or self._thread is not None:
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="ledgerdesk-listen", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._listen is not None
        connect, channel = self._listen
        while not self._stopping.is_set():
            try:
                with connect() as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    self.notify()  # whatever was saved while the connection was down
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=RECONNECT_SECONDS, stop_after=1):
                            self.notify()
            except psycopg.Error:
                log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
                self._stopping.wait(RECONNECT_SECONDS)
