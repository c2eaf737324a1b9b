"""The long-running processes: `serve` (the API), `project` (the projection worker), `sla-watch`."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn

from api.cli.context import fail, load_settings, services_from
from infrastructure.logs import configure_logging, log_config
from infrastructure.settings import Settings
from infrastructure.telemetry import MULTIPROCESS_DIR

SQLITE_CROSS_PROCESS_POLL_SECONDS = 0.1
APP_FACTORY = "api.app:create_app"


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API worker processes.")] = 1,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    serve_app(APP_FACTORY, host=host, port=port, workers=workers)


def serve_app(factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve the app that `factory` (`module:function`, taking no arguments) builds, as `serve` does.

    The factory is named, not passed, because each uvicorn worker process imports it for itself.
    """
    settings = load_settings()
    # The schema step once here (or the wait for it), so the workers need not take their turns.
    with services_from(settings) as services:
        typer.echo(f"ledgerdesk: events in {services.database.describe()}", err=True)
        in_process = services.projections_in_process()
    os.environ["LEDGERDESK_CREATE_TABLES"] = "false"
    logging = log_config(settings.log_format)
    with _shared_metrics(workers):
        if workers == 1 or not in_process:
            uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_config=logging)
            return
        # Several workers: one projection worker here, in the parent, instead of one per worker process.
        os.environ["LEDGERDESK_PROJECTIONS_IN_PROCESS"] = "false"
        with services_from(Settings(create_tables=False)) as services:
            services.start_projections().poll_seconds = SQLITE_CROSS_PROCESS_POLL_SECONDS
            for start in services.background().values():  # the others (the projections run already)
                start()
            uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_config=logging)


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder where each keeps its counts, so any of them reports all (GET /metrics).

    The workers are new processes that read the variable as they start; a folder the operator
    named in it is used as it is (and, as prometheus-client asks, should be emptied between runs).
    """
    if workers == 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    folder = tempfile.mkdtemp(prefix="ledgerdesk-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def project() -> None:
    """Run the projection worker: keep the read models up to date until stopped (SIGINT or SIGTERM)."""
    with services_from(load_settings()) as services:
        worker = services.start_projections()
        typer.echo(f"ledgerdesk: projecting events of {services.database.describe()}", err=True)
        _wait_for_a_stop_signal()
        worker.stop()


def sla_watch() -> None:
    """Run the SLA watcher: record SLA warnings, breaches and escalations as they fall due, until stopped.

    Stops on SIGINT or SIGTERM. Several may run at once: each alert is still recorded once.
    """
    with services_from(load_settings()) as services:
        watcher = services.start_sla_watcher()
        every = services.settings.sla_watch_interval_seconds
        typer.echo(f"ledgerdesk: watching SLAs of {services.database.describe()} every {every:g} s", err=True)
        _wait_for_a_stop_signal()
        watcher.stop()
        typer.echo("ledgerdesk: SLA watcher stopped", err=True)


def worker(
    only: Annotated[
        str | None,
        typer.Option(help="Run only these background processes (comma-separated; default: all of them)."),
    ] = None,
) -> None:
    """Run the background processes: projections, the SLA watcher, router, triggers, timed rules and the rest.

    Also schedules, webhooks, notifications, suggestions and their training (`--only` lists them all).

    They run until SIGINT or SIGTERM. Several workers may run at once, on as many hosts as needed: each
    piece of work is still done once.
    """
    settings = load_settings()
    configure_logging(settings.log_format)
    with services_from(settings) as services:
        known = services.background()
        names = list(known) if only is None else [n.strip() for n in only.split(",") if n.strip()]
        unknown = sorted(set(names) - set(known))
        if unknown or not names:
            fail(f"--only takes some of {', '.join(known)} (got {only!r})")
        running = [known[name]() for name in names]
        typer.echo(f"ledgerdesk: worker running {', '.join(names)} on {services.database.describe()}", err=True)
        _wait_for_a_stop_signal()
        for process in reversed(running):
            process.stop()
        typer.echo("ledgerdesk: worker stopped", err=True)


def _wait_for_a_stop_signal() -> None:
    """Block until SIGINT or SIGTERM, so the caller can stop its worker cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
