"""Projection catch-up: how fast a fresh generation of the read models reaches the log's head.

The events are seeded once (see bench/seed.py); each batch size then projects the whole log into
a generation of its own, which starts empty, exactly as a rebuild does. After each run the read
models are checked, so a fast but wrong projection cannot pass as a result.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from typing import Any

from bench.seed import SeedStats
from infrastructure.composition import Services
from infrastructure.readmodels.worker import ProjectionWorker

PROFILE_LINES = 30


def time_catch_up(services: Services, generation: int, batch_size: int, seeded: SeedStats) -> dict[str, Any]:
    """Project the whole log into the empty `generation`; return the figures of that run."""
    services.read_models.view(generation)  # tables created before the clock starts
    worker = ProjectionWorker(services.desk, services.read_models, batch_size=batch_size, generation=generation)
    started = time.perf_counter()
    position = worker.catch_up()
    seconds = time.perf_counter() - started
    check_read_models(services, generation, position, seeded)
    return {
        "name": f"catch_up_batch_{batch_size}",
        "batch_size": batch_size,
        "events": seeded.events,
        "tickets": seeded.tickets,
        "seconds": round(seconds, 3),
        "events_per_s": round(seeded.events / seconds, 1),
    }


def profile_catch_up(services: Services, generation: int, batch_size: int) -> str:
    """Project the whole log into the empty `generation` under cProfile; return the top functions."""
    services.read_models.view(generation)
    worker = ProjectionWorker(services.desk, services.read_models, batch_size=batch_size, generation=generation)
    profiler = cProfile.Profile()
    profiler.runcall(worker.catch_up)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(PROFILE_LINES)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(PROFILE_LINES)
    return out.getvalue()


def check_read_models(services: Services, generation: int, position: int, seeded: SeedStats) -> None:
    """Fail loudly unless the generation holds every seeded ticket, up to the log's head."""
    head = services.desk.recorder.max_notification_id() or 0
    view = services.read_models.view(generation)
    with view.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT count(*) AS n, max(position) AS last FROM {view.names.tickets}")
        tickets = cursor.fetchone()
        cursor.execute(f"SELECT count(*) AS n FROM {view.names.tickets} WHERE status = 'solved'")
        solved_rows = cursor.fetchone()["n"]
        cursor.execute(f"SELECT coalesce(sum(solved), 0) AS n FROM {view.names.solved}")
        solved_counts = cursor.fetchone()["n"]
    problems = [
        f"position {position} != head {head}" if position != head else "",
        f"{tickets['n']} ticket rows, seeded {seeded.tickets}" if tickets["n"] != seeded.tickets else "",
        f"last row position {tickets['last']} != head {head}" if tickets["last"] != head else "",
        f"{solved_rows} solved tickets but {solved_counts} counted" if solved_rows != solved_counts else "",
    ]
    if any(problems):
        msg = f"catch-up into generation {generation} is wrong: " + "; ".join(p for p in problems if p)
        raise AssertionError(msg)
