"""Column types and value conversions shared by the datasets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar
from uuid import UUID

import orjson
import pyarrow as pa

from infrastructure.exports.scope import ExportScope, Progress

#: Every moment: microseconds, UTC, with the zone written in the file.
UTC_TIME = pa.timestamp("us", tz="UTC")
Row = TypeVar("Row")


def column(name: str, kind: Any, *, nullable: bool = True, meaning: str) -> pa.Field:
    """A column of a dataset, its meaning kept in the file's schema metadata."""
    return pa.field(name, kind, nullable=nullable, metadata={"meaning": meaning})


def json_text(value: Any) -> str:
    """A value as compact JSON text, keys sorted (moments as ISO-8601, ids as text)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def text_id(value: UUID | str | None) -> str | None:
    """An id as text."""
    return None if value is None else str(value)


def batch(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Rows (column name -> value) as one record batch of the dataset's schema."""
    return pa.RecordBatch.from_pylist(rows, schema=schema)


class Pages(Protocol[Row]):
    """A read-model table read page by page in key order (keyset paging, never OFFSET)."""

    def count(self, scope: ExportScope) -> int:
        """How many rows the scope holds (for the progress bar)."""

    def page(self, scope: ExportScope, after: Any, limit: int) -> list[Row]:
        """The next rows after the key `after` (None: from the first)."""


def paged_batches(
    pages: Pages[Row],
    scope: ExportScope,
    schema: pa.Schema,
    record: Callable[[Row], dict[str, Any]],
    key: Callable[[Row], Any],
    progress: Progress | None,
    page: int,
) -> Iterator[pa.RecordBatch]:
    """Every row of the scope as record batches of `schema`, one page each, telling `progress` as it goes."""
    total, done, after = pages.count(scope), 0, None
    while True:
        rows = pages.page(scope, after, page)
        if not rows:
            return
        yield batch(schema, [record(r) for r in rows])
        done, after = done + len(rows), key(rows[-1])
        if progress is not None:
            progress(done, max(total, done))
