"""X1: the rate of an analyst export (`events`, Parquet) on PostgreSQL, over a seeded log (bench/seed.py).

The log is seeded, projected into a fresh generation (the read models tell each event's tenant),
then exported twice: every tenant's events, and one tenant's. Memory is the process's peak
resident size before and after the exports (it grows by what one page costs, not by the log).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.catch_up import time_catch_up
from bench.seed import seed, seeding_settings
from bench.server import settle
from infrastructure.composition import Services, build_services
from infrastructure.exports.export import export_file
from infrastructure.exports.scope import Dataset, ExportScope, FileFormat
from infrastructure.settings import Settings

CATCH_UP_BATCH = 5000


def bench_export(database_url: str, *, events: int) -> list[dict[str, Any]]:
    """Seed `events` events, project them, and time the Parquet export of `events` (all tenants, then one)."""
    seeding = build_services(seeding_settings(database_url))
    try:
        seeded = seed(seeding.desk, events)
    finally:
        seeding.close()
    settle(database_url)
    services = build_services(Settings(database_url=database_url, db_pool_max=5, pool_size=2))
    try:
        time_catch_up(services, 2, CATCH_UP_BATCH, seeded)
        services.read_models.generations.switch(2)
        services.read_models.active_generation(fresh=True)
        settle(database_url)
        return [_time_export(services, None), _time_export(services, "acme")]
    finally:
        services.close()


def _time_export(services: Services, tenant: str | None) -> dict[str, Any]:
    peak_before = _peak_rss_mib()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.parquet"
        started = time.perf_counter()
        rows = export_file(services, Dataset.EVENTS, FileFormat.PARQUET, ExportScope(tenant=tenant), path)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
        assert pq.ParquetFile(path).metadata.num_rows == rows
    scanned = services.read_models.position()
    return {
        "name": f"x1_export_events_parquet_{tenant or 'all_tenants'}",
        "events_scanned": scanned,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "events_scanned_per_s": round(scanned / seconds, 1),
        "file_mib": round(size / 2**20, 2),
        "peak_rss_mib_before": peak_before,
        "peak_rss_mib_after": _peak_rss_mib(),
    }


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
