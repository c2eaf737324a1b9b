"""How commands show their work: counts in words, tables, progress bars on standard error."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    """Events (or other units) done per second."""

    def __init__(self, unit: str = "events") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """The task's current rate, or a dash before there is one."""
        return Text("-" if task.speed is None else f"{task.speed:,.0f} {self.unit}/s")


@contextmanager
def progress(description: str, unit: str = "events") -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar on standard error: units (events by default) done / total, rate, time left."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit))
    with Progress(*columns, EventRateColumn(unit), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        yield bar, bar.add_task(description, total=None)


def one_or_many(count: int, one: str, many: str) -> str:
    """`one` for a count of 1, else `many`: a noun or a verb that agrees with the count."""
    return one if count == 1 else many


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """The count and its noun in the right number: `1 ticket`, `0 tickets`, `2 kept responses`."""
    return f"{count} {one_or_many(count, noun, plural or f'{noun}s')}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """The header line, then one line per row, columns aligned and two spaces apart (no trailing blanks)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        yield "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
