"""Writing record batches to a Parquet or CSV file as they come: memory holds one batch, not the file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from infrastructure.exports.scope import FileFormat

PARQUET_COMPRESSION = "zstd"


def write_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch], fmt: FileFormat, sink: Path | BinaryIO) -> int:
    """Write every batch to `sink` in `fmt` (Parquet: a row group per batch); the number of rows written."""
    rows, target = 0, str(sink) if isinstance(sink, Path) else sink
    if fmt is FileFormat.PARQUET:
        with pq.ParquetWriter(target, schema, compression=PARQUET_COMPRESSION) as parquet:
            for batch in batches:
                if batch.num_rows:
                    parquet.write_batch(batch)
                    rows += batch.num_rows
        return rows
    with pa_csv.CSVWriter(target, schema) as csv:
        for batch in batches:
            csv.write_batch(batch)
            rows += batch.num_rows
    return rows
