"""Liveness: answers without authentication so load balancers can probe it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service is up."""

    status: str = "ok"


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is serving requests."""
    return Health()
