"""Reading the event log for the projection: batches after a position, decoded, the next one read ahead.

Decoding opens only the personal fields the read models keep (`TicketsProjection.PERSONAL_FIELDS`).
An event that cannot be decoded stands in its batch as an `Undecodable`, which parks its
aggregate when folded, so one unreadable event stops nobody else.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.helpdesk import HelpDesk
from infrastructure.privacy.mapper import PersonalDataMapper
from projections.parking.failure import Undecodable
from projections.projection import TicketsProjection

Read = tuple[Sequence[Notification], list[Any]]  # notifications after a position, and their events


class LogReader:
    """Reads batches of the desk's event log, and can read the next batch while the current one is written."""

    def __init__(self, desk: HelpDesk, batch_size: int) -> None:
        self.desk = desk
        self.batch_size = batch_size
        self._mapper = cast("PersonalDataMapper", desk.mapper)
        self._reader: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[Read]] | None = None  # (after position, its events)

    def batch_after(self, after: int) -> Read:
        """The events after a position: read ahead during the previous batch's write, or read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == after:
            return ahead[1].result()
        return self._read(after)

    def read_ahead(self, after: int) -> None:
        """Start reading the batch after `after` in the background."""
        # Reading and decoding (Python) overlaps the batch's write, which waits on the database.
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledgerdesk-read-ahead")
        self._ahead = (after, self._reader.submit(self._read, after))

    def stop_reading_ahead(self) -> None:
        """Finish the background read, if any, and forget it."""
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)
            self._reader, self._ahead = None, None

    def events_at(self, positions: list[int]) -> list[tuple[Any, Notification]]:
        """The stored events at these positions with their notifications, decoded."""
        notifications = [
            n
            for position in positions
            for n in self.desk.recorder.select_notifications(start=position, limit=1, inclusive_of_start=True)
            if n.id == position
        ]
        return list(zip(self.decode(notifications), notifications, strict=True))

    def decode(self, notifications: Sequence[Notification]) -> list[Any]:
        """The events, decoded together; if that fails, one by one, with an Undecodable for each that fails."""
        try:
            return self._mapper.to_domain_events(notifications, opening=TicketsProjection.PERSONAL_FIELDS)
        except Exception:  # which event is at fault is found below
            return [self._decode_one(n) for n in notifications]

    def _read(self, after: int) -> Read:
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        return notifications, self.decode(notifications)

    def _decode_one(self, notification: Notification) -> Any:
        try:
            return self._mapper.to_domain_events([notification], opening=TicketsProjection.PERSONAL_FIELDS)[0]
        except Exception as error:  # parked when folded
            return Undecodable(UUID(str(notification.originator_id)), notification.topic, error)
