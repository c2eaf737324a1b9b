"""The supervisors' dashboard `/dashboard`: the service-metric reports as charts, with their data as CSV.

Who may see it is the access policy's: the roles that may read every report it draws
(`volume_report`, `sla_compliance_report`, ...: supervisors, analysts and admins), and not a
user limited to groups, since the reports read across the whole tenant (`reads_whole_tenant`),
as the API's `/reports` refuse such keys. The filters are a GET form, so the address holds them
(`?from=2026-11-01&to=2026-11-30&group=it`) and each chart's CSV is asked with the same ones.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.metrics_schemas import MetricsQuery
from api.web.charts import Chart
from api.web.dashboard_charts import CHART_NAMES, READERS, Reading
from api.web.pages import render
from api.web.visitors import SignedInDep, VisitorDep
from domain.access import policy as access
from domain.actors import identifier
from domain.errors import InvalidValueError
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False)

#: The reports the dashboard draws: a caller must be allowed every one of them.
REPORTS = (
    "volume_report",
    "response_time_report",
    "sla_compliance_report",
    "backlog_report",
    "csat_report",
    "agent_report",
)
#: The longest period the charts draw (a bar per day): a year, leap day included.
MAX_DAYS = 366


def may_see(principal: Principal) -> bool:
    """Whether the principal may read every report the dashboard draws, across the whole tenant."""
    allowed = all(access.may(principal.role, report) for report in REPORTS)
    return allowed and (principal.actor.groups is None or not any(map(access.reads_whole_tenant, REPORTS)))


@dataclass(frozen=True, slots=True)
class Filters:
    """The dashboard's filters as the address gives them (typed text, kept to show again) and what they mean."""

    since: str = ""
    until: str = ""
    group: str = ""


class FilterError(Exception):
    """The filters name no valid period or group (a message key for the page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def filters_from(params: dict[str, str]) -> Filters:
    """The filters as typed (trimmed, cut to a sane length)."""
    return Filters(
        since=(params.get("from") or "").strip()[:10],
        until=(params.get("to") or "").strip()[:10],
        group=(params.get("group") or "").strip()[:128],
    )


def reading(services: Services, principal: Principal, filters: Filters) -> Reading:
    """What the charts are read for; the period checked by the reports' own rules (MetricsQuery)."""
    try:
        query = MetricsQuery.model_validate({"since": filters.since or None, "until": filters.until or None})
        now = services.desk.clock()
        window = query.window(now.astimezone(UTC).date())
    except (ValidationError, InvalidValueError):
        raise FilterError("period") from None
    if len(window.days()) > MAX_DAYS:
        raise FilterError("period")
    group = None
    if filters.group:
        try:
            group = identifier(filters.group, "group")
        except InvalidValueError:
            raise FilterError("group") from None
    return Reading(principal, window, group, now)


def read_charts(services: Services, principal: Principal, filters: Filters) -> tuple[Reading, list[Chart]]:
    """Every chart, in page order."""
    r = reading(services, principal, filters)
    return r, [READERS[name](services, r) for name in CHART_NAMES]


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The charts for the chosen period and group; a period or group not valid is said above the form (422)."""
    if not may_see(principal):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    filters = filters_from(dict(request.query_params))
    try:
        r, charts = await run_in_threadpool(read_charts, services, principal, filters)
    except FilterError as refused:
        return render(request, visitor, "dashboard.html", 422, filters=filters, charts=[], error=refused.reason)
    context: dict[str, Any] = {"filters": filters, "charts": charts, "error": None, "reading": r}
    return render(request, visitor, "dashboard.html", **context)


@router.get("/dashboard/{chart}.csv")
async def chart_csv(
    request: Request, chart: str, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """One chart's table as CSV, read with the same filters as the page."""
    if not may_see(principal):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if chart not in READERS:
        return render(request, visitor, "error.html", 404, reason="not-found")
    filters = filters_from(dict(request.query_params))
    try:
        r = await run_in_threadpool(reading, services, principal, filters)
    except FilterError as refused:
        return render(request, visitor, "dashboard.html", 422, filters=filters, charts=[], error=refused.reason)
    drawn = await run_in_threadpool(READERS[chart], services, r)
    return Response(
        as_csv(drawn),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_name(drawn, r)}"', "Cache-Control": "no-store"},
    )


def as_csv(chart: Chart) -> str:
    """The chart's table: a header of its column keys, then a row per bar (empty cells for no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chart.columns)
    for row in chart.rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue()


def csv_name(chart: Chart, r: Reading) -> str:
    """The file's name: the chart, the group (if any) and the period, as the reports' CSV are named."""
    group = f"-{r.group}" if r.group else ""
    return f"{chart.name}{group}-{_day(r.window.since)}-{_day(r.window.until)}.csv"


def _day(day: date) -> str:
    return day.isoformat()
