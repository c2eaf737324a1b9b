"""The dashboard's charts, each read through the reports' queries and the ticket list's; none counts rows itself.

The reports' queries are projections/metrics/queries.py, the ticket list's projections/tickets/queries.py.

Every chart covers the caller's tenant over the chosen UTC days and, with a group chosen, that
group's tickets only. The backlog by age and agents' open tickets are counted as they stand now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from api.web.charts import Bar, Cell, Chart, bar, laid_out, percent
from infrastructure.composition import Services
from infrastructure.keys import Principal
from projections.metrics.queries import MetricQueries
from projections.metrics.reports import Grouping, Summary, Window
from projections.tickets.queries import TicketFilter
from projections.tickets.rows import UNSOLVED

#: The charts in page order (also the names their CSV is asked by).
CHART_NAMES = ("volume", "sla-policy", "sla-group", "backlog-age", "times", "csat", "agents")
#: The backlog's age spans, cut at these many days before now (newest first).
AGE_EDGES_DAYS = (1, 3, 7, 30)
AGE_LABELS = ("age-under-1", "age-1-3", "age-3-7", "age-7-30", "age-over-30")
NO_VALUE = "(none)"


@dataclass(frozen=True, slots=True)
class Reading:
    """What every chart is read for: whose, which days, which group (None: all), at which moment."""

    principal: Principal
    window: Window
    group: str | None
    now: datetime

    @property
    def tenant(self) -> str:
        """The caller's tenant: no chart reads another."""
        return self.principal.tenant

    def query(self) -> str:
        """The period and group read, as the query string of a chart's CSV (the same figures, whenever asked)."""
        pairs = [("from", self.window.since.isoformat()), ("to", self.window.until.isoformat())]
        return urlencode(pairs + ([("group", self.group)] if self.group else []))

    def queue(self, queue: str, group: str | None = None) -> str:
        """The queue page with this reading's group (or `group`): where the tickets behind a chart are listed."""
        chosen = group if group is not None else self.group
        return "/?" + urlencode([("queue", queue)] + ([("group", chosen)] if chosen else []))

    def open_tickets(self) -> TicketFilter:
        """The unsolved tickets of the tenant (and group) that the backlog and load charts count."""
        return TicketFilter(tenant=self.tenant, categories=UNSOLVED, group=self.group)


def metric_queries(services: Services) -> MetricQueries:
    """The reports' queries on the serving generation of the read models."""
    view = services.read_models.active_view()
    return MetricQueries(view.datastore, view.dialect, view.names)


def _label(key: str | None) -> str:
    return NO_VALUE if key is None else key


def volume(services: Services, r: Reading) -> Chart:
    """Tickets created per day, stacked by channel (most used channel first)."""
    days = metric_queries(services).volume_split(r.tenant, r.window, Grouping.DAY, Grouping.CHANNEL, group=r.group)
    totals: dict[str | None, int] = {}
    for _, parts in days:
        for channel, n in parts.items():
            totals[channel] = totals.get(channel, 0) + n
    channels = sorted(totals, key=lambda c: (-totals[c], _label(c)))
    rows: list[tuple[Cell, ...]] = []
    bars: list[Bar] = []
    for bucket, parts in days:
        counts = [parts.get(c, 0) for c in channels]
        rows.append((bucket.key, *counts, sum(counts)))
        bars.append(bar(_label(bucket.key), *counts, text=str(sum(counts))))
    series = [_label(c) for c in channels]
    return laid_out(
        "volume", ("day", *series, "total"), rows, bars, tickets=r.queue("groups"), series=series, unit="tickets"
    )


def _compliance(services: Services, r: Reading, grouping: Grouping, name: str) -> Chart:
    entries = metric_queries(services).compliance(r.tenant, r.window, grouping, now=r.now, group=r.group)
    rows: list[tuple[Cell, ...]] = []
    bars: list[Bar] = []
    for e in entries:
        share = percent(e.met, e.met + e.breached)
        rows.append((e.bucket.key, e.met, e.breached, share))
        link = r.queue("at_risk", e.bucket.key) if grouping is Grouping.GROUP and e.bucket.key else None
        text = f"{share:g}% ({e.met}/{e.met + e.breached})" if share is not None else "—"
        bars.append(bar(_label(e.bucket.key), share or 0.0, text=text, link=link))
    columns = (grouping.value, "met", "breached", "compliance_percent")
    return laid_out(name, columns, rows, bars, tickets=r.queue("at_risk"), unit="percent", scale=100.0)


def sla_by_policy(services: Services, r: Reading) -> Chart:
    """The share of SLA targets met, per policy."""
    return _compliance(services, r, Grouping.POLICY, "sla-policy")


def sla_by_group(services: Services, r: Reading) -> Chart:
    """The share of SLA targets met, per group (each row links to that group's tickets at risk)."""
    return _compliance(services, r, Grouping.GROUP, "sla-group")


def backlog_by_age(services: Services, r: Reading) -> Chart:
    """Unsolved tickets now, by how long ago they were opened."""
    edges = [r.now - timedelta(days=days) for days in AGE_EDGES_DAYS]
    counts = services.read_models.tickets().counts_by_age(r.open_tickets(), edges)
    rows: list[tuple[Cell, ...]] = [(label, n) for label, n in zip(AGE_LABELS, counts, strict=True)]
    bars = [bar(label, n, text=str(n)) for label, n in zip(AGE_LABELS, counts, strict=True)]
    return laid_out("backlog-age", ("age", "tickets"), rows, bars, tickets=r.queue("groups"), unit="tickets")


def times(services: Services, r: Reading) -> Chart:
    """Median and 90th percentile of first-response and resolution times in the window (calendar minutes)."""
    found = metric_queries(services).times(r.tenant, r.window, Grouping.ALL, group=r.group)
    rows: list[tuple[Cell, ...]] = []
    bars: list[Bar] = []
    for entry in found:
        measures = (
            ("first_response", entry.first_response, entry.first_response_business),
            ("resolution", entry.resolution, entry.resolution_business),
        )
        for measure, calendar, business in measures:
            for statistic in ("median", "p90"):
                minutes, business_minutes = _statistic(calendar, statistic), _statistic(business, statistic)
                rows.append((measure, statistic, minutes, business_minutes, calendar.count))
                text = "—" if minutes is None else f"{minutes:g}"
                bars.append(bar(f"{measure}-{statistic}", minutes or 0.0, text=text))
    columns = ("measure", "statistic", "calendar_minutes", "business_minutes", "tickets")
    return laid_out("times", columns, rows, bars, tickets=r.queue("groups"), unit="minutes")


def _statistic(summary: Summary, statistic: str) -> float | None:
    value = summary.median if statistic == "median" else summary.p90
    return None if value is None else round(value, 1)


def csat(services: Services, r: Reading) -> Chart:
    """The share of satisfied latest ratings, per ISO week of the window."""
    entries = metric_queries(services).csat(r.tenant, r.window, Grouping.WEEK, group=r.group)
    rows: list[tuple[Cell, ...]] = []
    bars: list[Bar] = []
    for e in entries:
        share = percent(e.satisfied, e.ratings)
        rows.append((e.bucket.key, e.ratings, e.satisfied, share))
        text = f"{share:g}% ({e.satisfied}/{e.ratings})" if share is not None else "—"
        bars.append(bar(_label(e.bucket.key), share or 0.0, text=text))
    columns = ("week", "ratings", "satisfied", "satisfied_percent")
    return laid_out("csat", columns, rows, bars, tickets=r.queue("groups"), unit="percent", scale=100.0)


def agents(services: Services, r: Reading) -> Chart:
    """Per agent: unsolved tickets assigned to them now (the bar), and tickets they solved in the window."""
    open_now = services.read_models.tickets().counts_by(r.open_tickets(), "assignee")
    solves = {e.agent: e for e in metric_queries(services).agents(r.tenant, r.window, group=r.group)}
    names = sorted({a for a in open_now if a is not None} | set(solves))
    names.sort(key=lambda a: (-open_now.get(a, 0), -(solves[a].solved if a in solves else 0)))
    rows: list[tuple[Cell, ...]] = []
    bars: list[Bar] = []
    for agent in names:
        now, solved = open_now.get(agent, 0), solves[agent].solved if agent in solves else 0
        median = solves[agent].handle.median if agent in solves else None
        rows.append((agent, now, solved, None if median is None else round(median, 1)))
        bars.append(bar(agent, now, text=f"{now} / {solved}"))
    columns = ("agent", "open_now", "solved", "handle_median_minutes")
    return laid_out("agents", columns, rows, bars, tickets=r.queue("groups"), unit="tickets")


READERS = {
    "volume": volume,
    "sla-policy": sla_by_policy,
    "sla-group": sla_by_group,
    "backlog-age": backlog_by_age,
    "times": times,
    "csat": csat,
    "agents": agents,
}
