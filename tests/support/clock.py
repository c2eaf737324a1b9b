"""A deterministic clock for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class TickingClock:
    """A deterministic clock: each reading is one second after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class SettableClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on by a `timedelta(**delta)`."""
        self.now += timedelta(**delta)
