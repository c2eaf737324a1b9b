"""Column types and value conversions shared by the datasets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
import pyarrow as pa

#: Every moment: microseconds, UTC, with the zone written in the file.
UTC_TIME = pa.timestamp("us", tz="UTC")


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
