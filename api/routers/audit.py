"""Audit endpoints, read-only, for auditors: verify the hash chain, export a signed period, activity reports."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, ServicesDep, ViewReadDep
from api.plain_text import IdentifierParam
from api.problems import ProblemError, problem_responses
from api.read_schemas import Moment
from api.report_schemas import (
    ActorActivityPublic,
    ActorReport,
    OrganisationActivityPublic,
    OrganisationReport,
    PeriodActivityPublic,
    PeriodReport,
    PeriodReportQuery,
    PrivilegedActionPublic,
    PrivilegedReport,
    ReportQuery,
)
from infrastructure.audit.checkpoint import CheckpointError, private_key_from_text
from infrastructure.audit.export import ExportFilter, export_changes
from infrastructure.audit.log import AuditLog, AuditUnavailableError
from infrastructure.audit.verify import Verification
from infrastructure.composition import Services
from projections.activity.rows import PRIVILEGED_EVENT_TYPES

router = APIRouter(prefix="/audit", tags=["audit"])


class FindingPublic(BaseModel):
    """Where the log and its chain first disagree."""

    kind: str = Field(description="changed, deleted, inserted, reordered or checkpoint.")
    position: int
    aggregate_id: str
    version: int
    detail: str


class VerificationPublic(BaseModel):
    """The outcome of recomputing the hash chain."""

    ok: bool
    events: int
    head_position: int
    head_hash: str
    finding: FindingPublic | None

    @classmethod
    def from_result(cls, result: Verification) -> VerificationPublic:
        """The public form of a verification."""
        found = result.finding
        return cls(
            ok=result.ok,
            events=result.events,
            head_position=result.head_position,
            head_hash=result.head_hash,
            finding=None
            if found is None
            else FindingPublic(
                kind=found.kind,
                position=found.position,
                aggregate_id=found.aggregate_id,
                version=found.version,
                detail=found.detail,
            ),
        )


class VerifyQuery(BaseModel):
    """Options of a verification."""

    model_config = ConfigDict(extra="forbid")

    stream: bool = Field(default=False, description="Stream progress as JSON lines, the result last.")


class ExportQuery(BaseModel):
    """What to export. Moments without an offset are UTC."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Moment | None = Field(default=None, alias="from", description="Changes at or after this moment.")
    end: Moment | None = Field(default=None, alias="to", description="Changes before this moment.")
    organisation: IdentifierParam | None = None
    ticket: UUID | None = None
    format: str = Field(default="jsonl", pattern="^(jsonl|csv)$")


def _audit_log(services: Services) -> AuditLog:
    try:
        return AuditLog(services.desk)
    except AuditUnavailableError as error:
        raise ProblemError(503, "audit-unavailable", str(error)) from None


VERIFY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The verification; with `stream=true`, JSON lines of progress and the result last.",
        "content": {"application/json": {}, "application/x-ndjson": {}},
    },
    **problem_responses(401, 403, 503),
}


@router.get("/verify", response_model=VerificationPublic, responses=VERIFY_RESPONSES)
def verify(services: ServicesDep, _: PrincipalDep, query: Annotated[VerifyQuery, Query()]) -> Any:
    """Recompute the hash chain over every stored event; name the first one changed, deleted, inserted or reordered."""
    log = _audit_log(services)
    if not query.stream:
        return VerificationPublic.from_result(log.verify())
    return StreamingResponse(_verify_stream(log), media_type="application/x-ndjson")


def _verify_stream(log: AuditLog) -> Iterator[bytes]:
    updates: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=100)

    def run() -> None:
        result = log.verify(progress=lambda at, head: updates.put({"checked_position": at, "head_position": head}))
        updates.put({"result": VerificationPublic.from_result(result).model_dump()})

    threading.Thread(target=run, daemon=True).start()
    while True:
        update = updates.get()
        yield (json.dumps(update) + "\n").encode()
        if "result" in update:
            return


@router.get(
    "/export",
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "The export, manifest last."},
        **problem_responses(401, 403, 422, 503),
    },
)
def export(services: ServicesDep, auditor: PrincipalDep, query: Annotated[ExportQuery, Query()]) -> StreamingResponse:
    """Every change of the tenant in range, with chain hashes, streamed; the last line is the signed manifest."""
    if services.settings.audit_signing_key is None:
        raise ProblemError(
            503, "audit-unavailable", "no audit signing key is configured (LEDGERDESK_AUDIT_SIGNING_KEY)"
        )
    try:
        key = private_key_from_text(services.settings.audit_signing_key.get_secret_value())
    except CheckpointError as error:
        raise ProblemError(503, "audit-unavailable", str(error)) from None
    where = ExportFilter(auditor.tenant, _utc(query.start), _utc(query.end), query.organisation, query.ticket)
    lines = export_changes(
        _audit_log(services), services.read_models, where, fmt=query.format, key=key, now=datetime.now(UTC)
    )
    media = "application/x-ndjson" if query.format == "jsonl" else "text/csv"
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="audit.{query.format}"'}
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


# --- reports, from the `audit_activity` read model -------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/reports/actors", response_model=ActorReport, responses=problem_responses(401, 403, 422))
def actor_report(auditor: PrincipalDep, read: ViewReadDep, query: Annotated[ReportQuery, Query()]) -> ActorReport:
    """Who changed what in the tenant: changes per actor and event type over the days, the most active first."""
    since, until = query.window(_today())
    position = read.position()
    found = read.read_models.activity().activity_by_actor(auditor.tenant, since, until)
    return ActorReport(start=since, end=until, view_position=position, items=[ActorActivityPublic.of(a) for a in found])


@router.get("/reports/organisations", response_model=OrganisationReport, responses=problem_responses(401, 403, 422))
def organisation_report(
    auditor: PrincipalDep, read: ViewReadDep, query: Annotated[ReportQuery, Query()]
) -> OrganisationReport:
    """Changes per organisation and event type over the days, the busiest first; null: no organisation."""
    since, until = query.window(_today())
    position = read.position()
    found = read.read_models.activity().activity_by_organisation(auditor.tenant, since, until)
    return OrganisationReport(
        start=since, end=until, view_position=position, items=[OrganisationActivityPublic.of(o) for o in found]
    )


@router.get("/reports/periods", response_model=PeriodReport, responses=problem_responses(401, 403, 422))
def period_report(
    auditor: PrincipalDep, read: ViewReadDep, query: Annotated[PeriodReportQuery, Query()]
) -> PeriodReport:
    """Changes per day, ISO week or month and event type, oldest first; periods without changes are left out."""
    since, until = query.window(_today())
    position = read.position()
    found = read.read_models.activity().activity_by_period(auditor.tenant, since, until, query.period)
    return PeriodReport(
        start=since,
        end=until,
        view_position=position,
        period=query.period,
        items=[PeriodActivityPublic.of(p) for p in found],
    )


@router.get("/reports/privileged", response_model=PrivilegedReport, responses=problem_responses(401, 403, 422))
def privileged_report(
    auditor: PrincipalDep, read: ViewReadDep, query: Annotated[ReportQuery, Query()]
) -> PrivilegedReport:
    """Privileged actions (event types listed in `event_types`) per day, actor and organisation, oldest first."""
    since, until = query.window(_today())
    position = read.position()
    found = read.read_models.activity().privileged_activity(auditor.tenant, since, until)
    return PrivilegedReport(
        start=since,
        end=until,
        view_position=position,
        event_types=sorted(PRIVILEGED_EVENT_TYPES),
        items=[PrivilegedActionPublic.of(r) for r in found],
    )
