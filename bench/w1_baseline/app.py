"""The app W1 serves: the product's API, unchanged, plus the baseline's routes under /bench-baseline/tickets.

Both sides of the comparison run in the same app, so they share its middleware, its services and
their connection pool; only the routes differ.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api import app as product
from api.authorization import authorize
from bench.w1_baseline import router as baseline

FACTORY = "bench.w1_baseline.app:create_app"


def create_app() -> FastAPI:
    """The product's app, built from the environment's settings, with the baseline's routes added."""
    app = product.create_app()
    # Each baseline route carries its event-sourced twin's name, so the same row of the matrix applies.
    app.include_router(baseline.router, dependencies=[Depends(authorize)])
    return app
