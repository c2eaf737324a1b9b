"""S1: suggestions on BENCH_S1_TICKETS (5,000) generated solved tickets, English and Chinese (bench/corpus.py).

* holdout accuracy of type, group and priority (a stratified 20% held out, as every model version records);
* training time: `ledgerdesk suggest train` for the tenant, reading each description through the
  application, fitting and storing the model; and the fit alone;
* suggestion latency: the model's answer for a new ticket's words, in process (p50, p95), and from
  `open_ticket` saved to the suggestion process having passed it, its `Suggested` events saved (p50, p95).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.corpus import generate, open_solved
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services
from infrastructure.leases import Lease
from infrastructure.settings import Settings

TENANT = "bench"
AGENT = Actor("bench", ActorKind.AGENT)


def bench_suggestions(database_url: str, *, tickets: int, samples: int) -> list[dict[str, Any]]:
    """S1 on a scratch database: seed, train, measure."""
    services = build_services(Settings(database_url=database_url))
    try:
        services.start_projections()
        started = time.monotonic()
        position = open_solved(services.desk, TENANT, generate(tickets, seed=5))
        seeded = time.monotonic() - started
        services.read_models.wait_for(position, timeout=600)
        started = time.monotonic()
        (outcome,) = services.trainer().train([TENANT])
        trained = time.monotonic() - started
        assert outcome.version is not None, outcome.skipped
        reports = outcome.version.reports
        fresh = generate(samples, seed=6)
        suggestions = services.suggestions()
        in_process = []
        for made in fresh:
            began = time.perf_counter()
            suggestions.predict(TENANT, made.title, made.description)
            in_process.append((time.perf_counter() - began) * 1000)
        services.start_suggestions()
        lease = services.lease("suggestions")
        _wait_until_passed(lease, services.desk.recorder.max_notification_id() or 0, timeout=1200)
        end_to_end = [_open_until_suggested(services, lease, made.title, made.description) for made in fresh]
        return [
            {
                "name": "s1_suggestions",
                "tickets": tickets,
                "seed_s": round(seeded, 1),
                "holdout_accuracy_type": round(reports["type"]["accuracy"], 4),
                "holdout_accuracy_group": round(reports["group"]["accuracy"], 4),
                "holdout_accuracy_priority": round(reports["priority"]["accuracy"], 4),
                "macro_recall_group": round(reports["group"]["macro avg"]["recall"], 4),
                "train_s": round(trained, 2),
                "fit_s": round(outcome.version.seconds, 2),
                "predict_ms_p50": _percentile(in_process, 50),
                "predict_ms_p95": _percentile(in_process, 95),
                "open_to_suggested_ms_p50": _percentile(end_to_end, 50),
                "open_to_suggested_ms_p95": _percentile(end_to_end, 95),
                "samples": samples,
            }
        ]
    finally:
        services.close()


def _open_until_suggested(services: Any, lease: Lease, title: str, description: str) -> float:
    """From the opening's save to the suggestion process having passed it (its suggestions saved, or abstained)."""
    began = time.perf_counter()
    opened = services.desk.open_ticket(
        tenant=TENANT, title=title, description=description, requester_id="r", by=AGENT, via="api"
    )
    _wait_until_passed(lease, opened.position or 0, timeout=30)
    return (time.perf_counter() - began) * 1000


def _wait_until_passed(lease: Lease, position: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while next((s.position for s in lease.states() if s.name == lease.name), 0) < position:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the suggestion process did not pass position {position} within {timeout} s")
        time.sleep(0.002)


def _percentile(values: list[float], percent: int) -> float:
    return round(statistics.quantiles(values, n=100)[percent - 1], 2) if len(values) > 1 else round(values[0], 2)
