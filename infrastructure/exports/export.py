"""Exporting a dataset to a file: the one call the command line and the HTTP route make."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from infrastructure.composition import Services
from infrastructure.exports import comments, events, sla, tickets
from infrastructure.exports.files import write_batches
from infrastructure.exports.scope import PAGE, Dataset, ExportScope, FileFormat, Progress

#: Each dataset's columns.
SCHEMAS: dict[Dataset, pa.Schema] = {
    Dataset.TICKETS: tickets.SCHEMA,
    Dataset.EVENTS: events.SCHEMA,
    Dataset.SLA: sla.SCHEMA,
    Dataset.COMMENTS: comments.SCHEMA,
}
#: What progress counts, by dataset: rows of a read model, or positions of the log.
COUNTS: dict[Dataset, str] = {
    Dataset.TICKETS: "rows",
    Dataset.EVENTS: "positions",
    Dataset.SLA: "rows",
    Dataset.COMMENTS: "positions",
}


def dataset_batches(
    services: Services, dataset: Dataset, scope: ExportScope, progress: Progress | None = None, *, page: int = PAGE
) -> Iterator[pa.RecordBatch]:
    """The dataset's rows in `scope`, as record batches of its schema, `page` rows or events at a time."""
    if dataset is Dataset.TICKETS:
        return tickets.batches(services.read_models, scope, progress, page=page)
    if dataset is Dataset.SLA:
        return sla.batches(services.read_models, scope, progress, page=page)
    if dataset is Dataset.EVENTS:
        return events.batches(services.desk, services.read_models, scope, progress, page=page)
    return comments.batches(services.desk, services.read_models, scope, progress, page=page)


def export(
    services: Services,
    dataset: Dataset,
    fmt: FileFormat,
    scope: ExportScope,
    sink: Path | BinaryIO,
    progress: Progress | None = None,
    *,
    page: int = PAGE,
) -> int:
    """Write the dataset's rows in `scope` to `sink` in `fmt`; the number of rows."""
    return write_batches(SCHEMAS[dataset], dataset_batches(services, dataset, scope, progress, page=page), fmt, sink)


def export_file(
    services: Services,
    dataset: Dataset,
    fmt: FileFormat,
    scope: ExportScope,
    path: Path,
    progress: Progress | None = None,
    *,
    page: int = PAGE,
) -> int:
    """As `export`, to a file that appears whole: written beside `path`, then renamed to it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        rows = export(services, dataset, fmt, scope, partial, progress, page=page)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return rows
