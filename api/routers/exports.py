"""Analyst exports over HTTP: a dataset of the caller's tenant as a Parquet or CSV file (docs/analytics.md)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC
from typing import IO, Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, ServicesDep
from api.problems import problem_responses
from api.read_schemas import Moment
from infrastructure.exports.export import export
from infrastructure.exports.scope import Dataset, ExportScope, FileFormat

router = APIRouter(prefix="/exports", tags=["exports"])

CHUNK = 1 << 16  # bytes sent per write


class ExportQuery(BaseModel):
    """Which file, and which rows. Moments without an offset are UTC."""

    model_config = ConfigDict(extra="forbid")

    format: FileFormat = Field(default=FileFormat.PARQUET, description="parquet (default) or csv.")
    since: Moment | None = Field(
        default=None, description="Tickets updated, SLA targets started, events or comments recorded at or after it."
    )


@router.get(
    "/{dataset}",
    responses={
        200: {
            "content": {FileFormat.PARQUET.media_type: {}, "text/csv": {}},
            "description": "The dataset's rows of the caller's tenant, as a file (docs/analytics.md).",
        },
        **problem_responses(401, 403, 422),
    },
)
def export_dataset(
    dataset: Dataset, services: ServicesDep, analyst: PrincipalDep, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    """The caller's tenant's tickets, events, SLA targets or comments, typed, times in UTC, without personal data."""
    since = query.since if query.since is None or query.since.tzinfo else query.since.replace(tzinfo=UTC)
    file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by the response once sent, or here on a failure
    try:
        export(services, dataset, query.format, ExportScope(tenant=analyst.tenant, since=since), file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    name = f"{dataset}.{query.format}"
    return StreamingResponse(
        _sent(file),
        media_type=query.format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _sent(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk
