"""The process's own counters for operators: requests by route and status with their latency, commands by outcome.

They are `prometheus-client` metrics. With `PROMETHEUS_MULTIPROC_DIR` set (as `ledgerdesk serve
--workers N` sets it for its workers), every process writes its counts to files in that folder
and `GET /metrics` of any of them adds up all of them (the library's multiprocess mode), so
several API workers report as one. Otherwise the counts live in this process's registry.

Figures that the database knows (read-model lag, background processes' backlog, SLA risk) are
not counted here but read at each scrape (api/routers/metrics.py), so every process answers alike.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

from domain.races import CommandOutcomes

#: The variable of prometheus-client's multiprocess mode: the folder where each process keeps its counts.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Request latency buckets, in seconds: from a cached read (a millisecond) to a slow export.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess() -> bool:
    """Whether counts are kept in files shared by this host's processes."""
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Telemetry(CommandOutcomes):
    """The counters of one process (or, in multiprocess mode, its share of the host's)."""

    def __init__(self) -> None:
        # In multiprocess mode the metrics belong to no registry: the collector reads every process's files.
        self.registry = None if multiprocess() else CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ledgerdesk_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ledgerdesk_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "ledgerdesk_commands",
            "Commands carried out, by command and outcome (stored, rejected, conflict, failed).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.races = Counter(
            "ledgerdesk_command_races_retried",
            "Saves that lost a race to another writer and were carried out again, by command.",
            ["command"],
            registry=self.registry,
        )

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def ended(self, command: str, outcome: str) -> None:
        """Count a command by its outcome."""
        self.commands.labels(command, outcome).inc()

    def race_lost(self, command: str) -> None:
        """Count a race lost and retried."""
        self.races.labels(command).inc()

    def scrape_registry(self) -> CollectorRegistry:
        """A registry holding this process's counters, or (multiprocess mode) the host's, added up."""
        if self.registry is not None:
            return self.registry
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # registers itself
        return registry
