"""How commands show their work: progress bars on standard error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class EventRateColumn(ProgressColumn):
    """Events applied per second."""

    def render(self, task: Task) -> Text:
        """The task's current rate, or a dash before there is one."""
        return Text("-" if task.speed is None else f"{task.speed:,.0f} events/s")


@contextmanager
def progress(description: str) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar on standard error: events done / total, rate, time left."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("events"))
    with Progress(*columns, EventRateColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        yield bar, bar.add_task(description, total=None)
