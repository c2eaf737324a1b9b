"""Service-metric reports for analysts, supervisors and admins, from the metric and SLA read models.

Every report covers the caller's tenant only, over UTC days `since`..`until`, and answers JSON
or, with `Accept: text/csv` or `?format=csv`, CSV: one row per entry, nested fields flattened
into dotted column names (`first_response.calendar.median_minutes`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.deps import VIEW_POSITION_HEADER, ViewRead, ViewReadDep
from api.metrics_schemas import (
    AgentEntryPublic,
    AgentReport,
    BacklogDayPublic,
    BacklogReport,
    ComplianceEntryPublic,
    ComplianceQuery,
    ComplianceReport,
    CsatEntryPublic,
    CsatQuery,
    CsatReport,
    MetricsQuery,
    MetricsReport,
    OutputFormat,
    ReopenEntryPublic,
    ReopenQuery,
    ReopenReport,
    TimesEntryPublic,
    TimesQuery,
    TimesReport,
    VolumeEntryPublic,
    VolumeQuery,
    VolumeReport,
)
from api.problems import problem_responses
from projections.metrics.queries import MetricQueries
from projections.metrics.reports import Grouping, Window

router = APIRouter(prefix="/reports", tags=["reports"])

CSV_MEDIA_TYPE = "text/csv"
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}}, "description": "The report, as JSON or (on request) CSV."},
    **problem_responses(401, 403, 422),
}


def _today(read: ViewRead) -> date:
    return read.services.desk.clock().astimezone(UTC).date()


def _queries(read: ViewRead) -> MetricQueries:
    view = read.read_models.active_view()
    return MetricQueries(view.datastore, view.dialect, view.names)


def _begin(read: ViewRead, query: MetricsQuery) -> tuple[Window, int]:
    """The report's window, and how far the view is (`get_view_read` waited for the position asked for)."""
    window = query.window(_today(read))
    read.response.headers["Vary"] = "Accept"
    return window, read.position()


def _wants_csv(request: Request, query: MetricsQuery) -> bool:
    if query.format is not None:
        return query.format is OutputFormat.CSV
    for media_range in request.headers.get("accept", "").split(","):
        kind, *parameters = (part.strip() for part in media_range.split(";"))
        refused = any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in parameters)
        if kind.lower() == CSV_MEDIA_TYPE and not refused:
            return True
    return False


def _answer(request: Request, read: ViewRead, query: MetricsQuery, report: MetricsReport, name: str) -> Any:
    if not _wants_csv(request, query):
        return report
    columns = _columns(report.entry)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for item in report.items:
        cells = _flatten(item.model_dump(mode="json"))
        writer.writerow(["" if cells[c] is None else cells[c] for c in columns])
    filename = f"{name}-{report.since.isoformat()}-{report.until.isoformat()}.csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        VIEW_POSITION_HEADER: read.response.headers[VIEW_POSITION_HEADER],
        "Vary": "Accept",
    }
    return Response(out.getvalue(), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8", headers=headers)


def _columns(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The CSV columns of an entry model: its fields, nested models' fields as dotted names."""
    columns: list[str] = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            columns.extend(_columns(kind, f"{prefix}{name}."))
        else:
            columns.append(f"{prefix}{name}")
    return columns


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


@router.get("/volume", response_model=VolumeReport, responses=RESPONSES)
def volume_report(request: Request, read: ViewReadDep, query: Annotated[VolumeQuery, Query()]) -> Any:
    """Tickets created in the window, per day (default), week or month, or per current channel, type or group."""
    window, position = _begin(read, query)
    found = _queries(read).volume(read.principal.tenant, window, Grouping(query.by.value))
    report = VolumeReport(
        since=window.since,
        until=window.until,
        view_position=position,
        by=query.by,
        items=[VolumeEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "volume")


@router.get("/response-times", response_model=TimesReport, responses=RESPONSES)
def response_time_report(request: Request, read: ViewReadDep, query: Annotated[TimesQuery, Query()]) -> Any:
    """Median and 90th percentile of first-response and resolution times, in calendar and business minutes."""
    window, position = _begin(read, query)
    found = _queries(read).times(read.principal.tenant, window, Grouping(query.by.value))
    report = TimesReport(
        since=window.since,
        until=window.until,
        view_position=position,
        by=query.by,
        items=[TimesEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "response-times")


@router.get("/sla-compliance", response_model=ComplianceReport, responses=RESPONSES)
def sla_compliance_report(request: Request, read: ViewReadDep, query: Annotated[ComplianceQuery, Query()]) -> Any:
    """SLA targets met and breached in the window, and the share met, per policy, group, target or span."""
    window, position = _begin(read, query)
    target = None if query.target is None else query.target.value
    now = read.services.desk.clock()
    found = _queries(read).compliance(read.principal.tenant, window, Grouping(query.by.value), now=now, target=target)
    report = ComplianceReport(
        since=window.since,
        until=window.until,
        view_position=position,
        by=query.by,
        target=query.target,
        items=[ComplianceEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "sla-compliance")


@router.get("/backlog", response_model=BacklogReport, responses=RESPONSES)
def backlog_report(request: Request, read: ViewReadDep, query: Annotated[MetricsQuery, Query()]) -> Any:
    """Every day of the window: tickets opened, solved, reopened and closed, and the unsolved backlog at its end."""
    window, position = _begin(read, query)
    found = _queries(read).backlog(read.principal.tenant, window)
    report = BacklogReport(
        since=window.since,
        until=window.until,
        view_position=position,
        items=[BacklogDayPublic.of(d) for d in found],
    )
    return _answer(request, read, query, report, "backlog")


@router.get("/reopens", response_model=ReopenReport, responses=RESPONSES)
def reopen_report(request: Request, read: ViewReadDep, query: Annotated[ReopenQuery, Query()]) -> Any:
    """Reopens and moves to solved in the window, and reopened / solved, for the window (default) or per span."""
    window, position = _begin(read, query)
    found = _queries(read).reopens(read.principal.tenant, window, Grouping(query.by.value))
    report = ReopenReport(
        since=window.since,
        until=window.until,
        view_position=position,
        by=query.by,
        items=[ReopenEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "reopens")


@router.get("/agents", response_model=AgentReport, responses=RESPONSES)
def agent_report(request: Request, read: ViewReadDep, query: Annotated[MetricsQuery, Query()]) -> Any:
    """Per agent: tickets solved in the window while assigned to them, and the median and p90 handle time."""
    window, position = _begin(read, query)
    found = _queries(read).agents(read.principal.tenant, window)
    report = AgentReport(
        since=window.since,
        until=window.until,
        view_position=position,
        items=[AgentEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "agents")


@router.get("/csat", response_model=CsatReport, responses=RESPONSES)
def csat_report(request: Request, read: ViewReadDep, query: Annotated[CsatQuery, Query()]) -> Any:
    """Customer satisfaction: tickets whose latest rating was given in the window, and the share satisfied."""
    window, position = _begin(read, query)
    found = _queries(read).csat(read.principal.tenant, window, Grouping(query.by.value))
    report = CsatReport(
        since=window.since,
        until=window.until,
        view_position=position,
        by=query.by,
        items=[CsatEntryPublic.of(e) for e in found],
    )
    return _answer(request, read, query, report, "csat")
