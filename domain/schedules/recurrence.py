"""The port through which schedules ask a recurrence library when their rules occur.

The domain imports no such library (tests/unit/test_import_boundary.py); the composition root
gives the application one (infrastructure/recurrence.py: python-dateutil for RRULE, cronsim for
cron). Occurrences are moments (UTC) in strictly increasing order, each the moment its local
wall-clock time stands for (domain/schedules/wall_clock.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.schedules.timing import Timing


class Recurrence(Protocol):
    """When a schedule's timing occurs."""

    def check(self, timing: Timing) -> None:
        """Refuse a rule the library cannot read, or one that never occurs, with InvalidRuleError and a path."""

    def occurrences(self, timing: Timing, since: datetime, until: datetime | None, limit: int) -> list[datetime]:
        """At most `limit` occurrences from `since` (included) to `until` (included; None: no bound), in order."""
