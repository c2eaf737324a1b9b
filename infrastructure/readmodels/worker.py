"""The projection worker: reads the event log in batches and applies each batch exactly once.

Each batch (up to `batch_size` events) is folded in memory and written, with one tracking row
for its last position, in one transaction. A crash loses at most an unwritten batch, which is
read again from the stored tracking position. The write succeeds only if the stored position is
still the one the batch was read after (compare-and-set under a lock), so when two workers
overlap, one writes and the other discards its batch and reads again: no event applied twice.

New events are noticed without polling delay: in this process through the application's save
hook, across processes on PostgreSQL through LISTEN on the channel eventsourcing NOTIFYs on each
insert. A periodic re-poll covers a lost notification and other processes on SQLite.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import psycopg
from eventsourcing.persistence import Notification, Tracking

from domain.helpdesk import HelpDesk
from domain.ticket import Ticket
from infrastructure.database import Backend
from infrastructure.privacy.mapper import PersonalDataMapper
from infrastructure.readmodels.store import ReadModels
from infrastructure.readmodels.tickets_view import SqlTicketsView
from projections.tickets import BatchConflictError, TicketsProjection

log = logging.getLogger("ledgerdesk.projections")

Progress = Callable[[int, int], None]  # (position reached, head position)
Read = tuple[Sequence[Notification], list[Any]]  # notifications after a position, and their events


class ProjectionWorker:
    """Keeps one generation of the ticket read models up to date (by default: the serving one)."""

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 1.0,
        gather_seconds: float = 0.0,
        generation: int | None = None,
    ) -> None:
        self.desk = desk
        self._mapper = cast("PersonalDataMapper", desk.mapper)
        self.read_models = read_models
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self.fixed_generation = generation
        self._projections: dict[int, TicketsProjection] = {}
        self._new_events = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reader: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[Read]] | None = None  # (after position, its events)
        desk.on_saved(lambda _: self._new_events.set())

    # --- one step -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Apply the next batch of events; return how many were applied (0: caught up)."""
        projection = self._projection()
        view = projection.view
        start = view.max_tracking_id(self.desk.name) or 0
        notifications, events = self._batch_after(start)
        if not notifications:
            return 0
        if len(notifications) == self.batch_size:  # catching up: read the next batch while this one is written
            self._read_ahead(notifications[-1].id)
        projection.start_batch(start)
        try:
            opened = {e.originator_id for e in events if isinstance(e, Ticket.Opened)}
            projection.prefetch({e.originator_id for e in events} - opened)
            for event, notification in zip(events, notifications, strict=True):
                projection.process_event(event, Tracking(self.desk.name, notification.id))
            projection.flush(Tracking(self.desk.name, notifications[-1].id))
        except BatchConflictError:
            # Another worker applied (some of) these events first; read again from the stored position.
            log.info("another worker advanced the read model; re-reading from its position")
            projection.discard()
            return 0
        except BaseException:
            projection.discard()
            raise
        self.read_models.advanced()
        return len(notifications)

    def _read(self, after: int) -> Read:
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        return notifications, self._mapper.to_domain_events(notifications, opening=TicketsProjection.PERSONAL_FIELDS)

    def _batch_after(self, after: int) -> Read:
        """The events after a position: read ahead during the previous batch's write, or read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == after:
            return ahead[1].result()
        return self._read(after)

    def _read_ahead(self, after: int) -> None:
        # Reading and decoding (Python) overlaps the batch's write, which waits on the database.
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledgerdesk-read-ahead")
        self._ahead = (after, self._reader.submit(self._read, after))

    def _stop_reading_ahead(self) -> None:
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)
            self._reader, self._ahead = None, None

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply batches until the log's head (as it was on entry) is reached; return the position reached."""
        head = self.desk.recorder.max_notification_id() or 0
        try:
            while True:
                position = self._projection().view.max_tracking_id(self.desk.name) or 0
                if progress is not None:
                    progress(position, head)
                if position >= head:
                    return position
                self.run_once()
        finally:
            if not self._threads:  # not also running in the background
                self._stop_reading_ahead()

    # --- running in the background --------------------------------------------------------------

    def start(self) -> None:
        """Run in background threads until stop()."""
        self._threads = [threading.Thread(target=self._loop, name="ledgerdesk-projection", daemon=True)]
        if self.read_models.database.backend is Backend.POSTGRES:
            listener = threading.Thread(target=self._listen, name="ledgerdesk-listen", daemon=True)
            self._threads.append(listener)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background threads (the batch in hand is finished or discarded, never half-written)."""
        self._stopping.set()
        self._new_events.set()
        for thread in self._threads:
            thread.join(timeout)
        self._stop_reading_ahead()

    def run_forever(self) -> None:
        """Run in this thread until stop() is called from another."""
        self.start()
        self._stopping.wait()
        self.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._new_events.clear()
            try:
                applied = self.run_once()
            except Exception:
                log.exception("projection batch failed; retrying")
                self._stopping.wait(self.poll_seconds)
                continue
            if applied == 0:
                self._new_events.wait(self.poll_seconds)
            elif applied < self.batch_size and self.gather_seconds:
                # Caught up: let the next commands' events gather, so that under load one
                # read-model transaction carries many of them (and idle moments cost nothing).
                self._stopping.wait(self.gather_seconds)

    def _listen(self) -> None:
        channel: str = self.desk.recorder.channel_name  # type: ignore[attr-defined]
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**self.read_models.database.connect_kwargs(), autocommit=True) as conn:  # type: ignore[arg-type]
                    conn.execute(f'LISTEN "{channel}"')
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                            self._new_events.set()
            except psycopg.Error:
                log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
                self._stopping.wait(self.poll_seconds)

    # --- which generation --------------------------------------------------------------------------

    def _projection(self) -> TicketsProjection:
        generation = self.fixed_generation or self.read_models.active_generation()
        projection = self._projections.get(generation)
        if projection is None:
            view: SqlTicketsView = self.read_models.view(generation)
            projection = self._projections[generation] = TicketsProjection(view)
        return projection
