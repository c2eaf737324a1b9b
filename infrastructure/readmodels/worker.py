"""The projection worker: reads the event log in batches and applies each batch exactly once.

Each batch (up to `batch_size` events) is folded in memory and written, with one tracking row
for its last position, in one transaction. A crash loses at most an unwritten batch, which is
read again from the stored tracking position. The write succeeds only if the stored position is
still the one the batch was read after (compare-and-set under a lock), so when two workers
overlap, one writes and the other discards its batch and reads again: no event applied twice.

New events are noticed without polling delay, through the process's news of the log
(infrastructure/log_signal.py: this process's saves, and on PostgreSQL every process's through
LISTEN). A periodic re-poll covers a lost notification and other processes on SQLite.

An event the projection cannot apply parks its aggregate (projections/parking/) instead of
stopping the worker: a fold that raises is found at once; a batch the database refuses is
bisected by aggregate, with trial writes that are rolled back, until the aggregates whose rows
are refused are found. The batch is then folded again without them and written once, as usual.
`retry` replays a parked aggregate's skipped events once the cause is fixed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking

from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from infrastructure.readmodels.log_reader import LogReader
from infrastructure.readmodels.store import ReadModels
from infrastructure.readmodels.view import SqlTicketsView
from projections.batch import Batch, BatchConflictError
from projections.parking.failure import Failure, Parking, Stage, Undecodable, caused_by_data, failure_of, topic_of
from projections.projection import TicketsProjection

log = logging.getLogger("ledgerdesk.projections")

Progress = Callable[[int, int], None]  # (position reached, head position)
Pairs = list[tuple[Any, Notification]]  # a batch's events with their notifications, in log order
Skips = dict[UUID, int]  # parked aggregate -> the first of its positions in the batch left for a retry (0: all)
#: How many times one batch is written again after parking the aggregates whose rows were refused.
WRITE_ROUNDS = 4
RETRY_CONFLICTS = 5


class FoldFailedError(Exception):
    """An event could not be folded: its aggregate is to be parked."""

    def __init__(self, parking: Parking) -> None:
        super().__init__(f"{parking.topic} at position {parking.position} failed")
        self.parking = parking


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """What a retry of one parked aggregate did."""

    aggregate_id: UUID
    recovered: bool
    replayed: int  # events replayed (all of them, when recovered)
    failure: Failure | None = None  # why it stays parked


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
        news: threading.Event | None = None,
    ) -> None:
        self.desk = desk
        self.log = LogReader(desk, batch_size)
        self.read_models = read_models
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self.fixed_generation = generation
        self._projections: dict[int, TicketsProjection] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        if news is None:  # no news of other processes: this one's saves, and the re-poll
            news = threading.Event()
            desk.on_saved(lambda _: news.set())
        self._new_events = news

    # --- one step -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Apply the next batch of events; return how many were applied (0: caught up)."""
        projection = self._projection()
        view = projection.view
        start = view.max_tracking_id(self.desk.name) or 0
        notifications, events = self.log.batch_after(start)
        if not notifications:
            return 0
        if len(notifications) == self.batch_size:  # catching up: read the next batch while this one is written
            self.log.read_ahead(notifications[-1].id)
        started = time.perf_counter()
        try:
            self._apply(projection, start, list(zip(events, notifications, strict=True)))
        except BatchConflictError:
            # Another worker applied (some of) these events first, or a parked aggregate was retried
            # meanwhile; read again from the stored position.
            log.info("the read model changed meanwhile; re-reading from its position")
            projection.discard()
            return 0
        except BaseException:
            projection.discard()
            raise
        self.read_models.advanced()
        reached, ms = notifications[-1].id, round((time.perf_counter() - started) * 1000, 2)
        log.info(
            "applied %d events up to position %d",
            len(notifications),
            reached,
            extra={"background": "projections", "events": len(notifications), "position": reached, "ms": ms},
        )
        return len(notifications)

    def _apply(self, projection: TicketsProjection, start: int, pairs: Pairs) -> None:
        """Fold and write the batch once, parking the aggregates whose events cannot be folded or written."""
        held = projection.view.parked_ids() & {event.originator_id for event, _ in pairs}
        skip: Skips = dict.fromkeys(held, 0)  # aggregate -> the first position left for a retry
        parked: dict[UUID, Parking] = {}
        tracking = Tracking(self.desk.name, pairs[-1][1].id)
        for _ in range(WRITE_ROUNDS):
            self._fold(projection, start, pairs, skip, parked)
            projection.batch.held = set(held)
            projection.batch.parked = list(parked.values())
            try:
                projection.flush(tracking)
            except BatchConflictError:
                raise
            except Exception as error:
                if not caused_by_data(error):
                    raise
                refused = self._unwritable(projection, start, pairs, skip, error)
                if not refused:
                    raise
                self._log_parked(refused.values())
                for aggregate, parking in refused.items():
                    skip[aggregate] = _first_position(pairs, aggregate)
                    parked.setdefault(aggregate, parking)
            else:
                return
        msg = f"the batch after position {start} was refused {WRITE_ROUNDS} times"
        raise RuntimeError(msg)

    def _fold(
        self, projection: TicketsProjection, start: int, pairs: Pairs, skip: Skips, parked: dict[UUID, Parking]
    ) -> None:
        """Fold the batch, leaving parked aggregates' events from their skip position on for a retry.

        An event that fails parks its aggregate from that event on, and the batch is folded again
        from the start: the failed event's partial changes go with the old working set, while the
        aggregate's earlier events in the batch are applied.
        """
        while True:
            projection.start_batch(start)
            try:
                self._fold_events(projection, pairs, skip)
            except FoldFailedError as failed:
                parking = failed.parking
                parked[parking.aggregate_id] = parking
                skip[parking.aggregate_id] = parking.position
                self._log_parked([parking])
                continue
            return

    def _fold_events(
        self, projection: TicketsProjection, pairs: Pairs, skip: Skips, only: set[UUID] | None = None
    ) -> None:
        """Fold the events (only `only`'s, if given) into the batch; those `skip` says are left for a retry."""
        ids = {e.originator_id for e, _ in pairs if only is None or e.originator_id in only}
        opened = {e.originator_id for e, _ in pairs if isinstance(e, Ticket.Opened)}
        projection.prefetch(ids - opened - {a for a, first in skip.items() if first == 0})
        for event, notification in pairs:
            aggregate = event.originator_id
            if only is not None and aggregate not in only:
                continue
            if aggregate in skip and notification.id >= skip[aggregate]:
                projection.skip(event, notification.id)
            else:
                fold_one(projection, self.desk.name, event, notification.id)

    def _unwritable(
        self, projection: TicketsProjection, start: int, pairs: Pairs, skip: Skips, error: Exception
    ) -> dict[UUID, Parking]:
        """The aggregates whose rows the database refuses: bisected with trial writes that are rolled back."""
        tracking = Tracking(self.desk.name, pairs[-1][1].id)
        last: dict[UUID, tuple[Any, int]] = {}  # each candidate's last event in the batch
        for event, notification in pairs:
            if notification.id < skip.get(event.originator_id, notification.id + 1):
                last[event.originator_id] = (event, notification.id)
        owners: dict[UUID, str] = {}  # tenants of the tickets, as the trial folds found them

        def refusal(group: list[UUID]) -> Failure | None:
            projection.start_batch(start)
            try:
                self._fold_events(projection, pairs, skip, only=set(group))
                projection.view.try_batch(projection.batch, tracking)
            except FoldFailedError as failed:
                return failed.parking.failure
            except Exception as refused:
                if isinstance(refused, BatchConflictError) or not caused_by_data(refused):
                    raise
                return failure_of(refused, Stage.WRITE)
            finally:
                owners.update({i: r.tenant for i, r in projection.batch.tickets.items()})
                projection.discard()
            return None

        def culprits(group: list[UUID], failure: Failure) -> dict[UUID, Failure]:
            if len(group) == 1:
                return {group[0]: failure}
            found: dict[UUID, Failure] = {}
            half = len(group) // 2
            for part in (group[:half], group[half:]):
                refused = refusal(part)
                if refused is not None:
                    found |= culprits(part, refused)
            return found

        found = culprits(list(last), failure_of(error, Stage.WRITE))
        return {
            aggregate: Parking(
                aggregate,
                owners.get(aggregate) or str(getattr(last[aggregate][0], "tenant", "") or ""),
                last[aggregate][1],
                topic_of(last[aggregate][0]),
                failure,
            )
            for aggregate, failure in found.items()
        }

    @staticmethod
    def _log_parked(parkings: Any) -> None:
        # Ids, positions and error classes only: a database's message can quote the refused value.
        for p in parkings:
            log.warning(
                "parked %s at position %d (%s, %s: %s)",
                p.aggregate_id,
                p.position,
                p.topic,
                p.failure.stage.value,
                p.failure.error_type,
            )

    # --- retrying parked aggregates ---------------------------------------------------------------

    def retry(self, aggregate_id: UUID | None = None, *, tenant: str | None = None) -> list[RetryOutcome]:
        """Replay the skipped events of parked aggregates (one, or all; of one tenant) on top of their rows.

        An aggregate whose events now fold and write is unparked (its rows fresh again); one that
        fails again stays parked with the new failure.
        """
        view = self._projection(fresh=True).view  # a retry right after a rebuild goes to the new generation
        wanted = sorted(e.aggregate_id for e in view.parked(tenant=tenant, aggregate_id=aggregate_id))
        return [self._retry_one(aggregate) for aggregate in wanted]

    def _retry_one(self, aggregate_id: UUID) -> RetryOutcome:
        # A projection of its own: the worker's may be folding a batch in another thread right now.
        projection = TicketsProjection(self._projection(fresh=True).view)
        for _ in range(RETRY_CONFLICTS):
            positions = projection.view.skipped_positions(aggregate_id)
            pairs = self.log.events_at(positions)
            projection.start_batch(projection.view.max_tracking_id(self.desk.name) or 0)
            try:
                self._fold_events(projection, pairs, {})
                for row in projection.batch.tickets.values():
                    row.stale = False
                projection.view.commit_retry(projection.batch, aggregate_id, positions)
            except BatchConflictError:
                continue  # the worker skipped another of its events meanwhile: read them all again
            except FoldFailedError as failed:
                return self._reparked(failed.parking, len(positions))
            except Exception as error:
                if not caused_by_data(error):
                    raise
                event, notification = pairs[-1]
                tenant = str(getattr(event, "tenant", "") or "")
                parking = Parking(
                    aggregate_id, tenant, notification.id, topic_of(event), failure_of(error, Stage.WRITE)
                )
                return self._reparked(parking, len(positions))
            finally:
                projection.discard()
            self.read_models.advanced()
            log.info("unparked %s: %d events replayed", aggregate_id, len(positions))
            return RetryOutcome(aggregate_id, recovered=True, replayed=len(positions))
        msg = f"{aggregate_id} kept getting new events while it was retried; try again"
        raise BatchConflictError(msg)

    def _reparked(self, parking: Parking, replayed: int) -> RetryOutcome:
        self._projection(fresh=True).view.repark(parking)
        self._log_parked([parking])
        return RetryOutcome(parking.aggregate_id, recovered=False, replayed=replayed, failure=parking.failure)

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
                self.log.stop_reading_ahead()

    # --- running in the background --------------------------------------------------------------

    def start(self) -> None:
        """Run in background threads until stop()."""
        self._threads = [threading.Thread(target=self._loop, name="ledgerdesk-projection", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background threads (the batch in hand is finished or discarded, never half-written)."""
        self._stopping.set()
        self._new_events.set()
        for thread in self._threads:
            thread.join(timeout)
        self.log.stop_reading_ahead()

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
            except Exception as error:  # the worker must outlive any batch
                # Not log.exception: a database's message and traceback can quote a refused value (a title).
                failure = failure_of(error, Stage.WRITE)
                log.error("projection batch failed (%s: %s); retrying", failure.error_type, failure.reason)
                self._stopping.wait(self.poll_seconds)
                continue
            if applied == 0:
                self._new_events.wait(self.poll_seconds)
            elif applied < self.batch_size and self.gather_seconds:
                # Caught up: let the next commands' events gather, so that under load one
                # read-model transaction carries many of them (and idle moments cost nothing).
                self._stopping.wait(self.gather_seconds)

    # --- which generation --------------------------------------------------------------------------

    def _projection(self, *, fresh: bool = False) -> TicketsProjection:
        """The projection of the generation this worker keeps (`fresh`: the pointer re-read now)."""
        generation = self.fixed_generation or self.read_models.active_generation(fresh=fresh)
        projection = self._projections.get(generation)
        if projection is None:
            view: SqlTicketsView = self.read_models.view(generation)
            projection = self._projections[generation] = TicketsProjection(view)
        return projection


def fold_one(projection: TicketsProjection, application: str, event: Any, position: int) -> None:
    """Fold one event; raise FoldFailedError, saying why without personal data, if it cannot be folded."""
    if isinstance(event, Undecodable):
        parking = Parking(event.originator_id, "", position, event.topic, failure_of(event.error, Stage.DECODE))
        raise FoldFailedError(parking)
    try:
        projection.process_event(event, Tracking(application, position))
    except Exception as error:
        tenant = _tenant(projection.batch, event)
        parking = Parking(event.originator_id, tenant, position, topic_of(event), failure_of(error, Stage.FOLD))
        raise FoldFailedError(parking) from error


def _tenant(batch: Batch, event: Any) -> str:
    row = batch.tickets.get(event.originator_id)
    if row is not None:
        return row.tenant
    return str(getattr(event, "tenant", "") or "")


def _first_position(pairs: Pairs, aggregate: UUID) -> int:
    return next(n.id for e, n in pairs if e.originator_id == aggregate)
