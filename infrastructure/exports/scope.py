"""What an export is asked for: the dataset, the file format, and which rows (tenant, since)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Dataset(StrEnum):
    """The datasets an analyst can export."""

    TICKETS = "tickets"
    EVENTS = "events"
    SLA = "sla"
    COMMENTS = "comments"


class FileFormat(StrEnum):
    """The file formats an export is written in."""

    PARQUET = "parquet"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        """The file's media type, for HTTP answers."""
        return "application/vnd.apache.parquet" if self is FileFormat.PARQUET else "text/csv; charset=utf-8"


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Which rows an export holds: one tenant's (None: every tenant's), from a moment on (None: all)."""

    tenant: str | None = None
    since: datetime | None = None  # aware; tickets by `updated_at`, events and comments by their moment


#: Rows (tickets, sla) or events read (events, comments) per page, and so at most per record batch.
PAGE = 5000

#: Told as an export goes: (work done, work in all, or None while unknown); log positions or rows.
Progress = Callable[[int, int | None], None]
