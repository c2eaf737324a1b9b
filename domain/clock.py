"""The clock commands read the time from; injected so tests and replays stay deterministic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current moment in UTC."""
    return datetime.now(UTC)
