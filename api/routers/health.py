"""Liveness and the way in: both answer without authentication, so load balancers and newcomers can ask."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service is up."""

    status: str = "ok"


class Entry(BaseModel):
    """Where the API describes itself."""

    name: str = Field(default="ledgerdesk", description="The service.")
    docs: str = Field(default="/docs", description="The interactive API documentation (Swagger UI).")
    redoc: str = Field(default="/redoc", description="The same documentation as ReDoc.")
    openapi: str = Field(default="/openapi.json", description="The OpenAPI document.")
    health: str = Field(default="/healthz", description="Liveness.")


@router.get("/", response_model=Entry)
def root() -> Entry:
    """Links to the API's documentation and schema, for whoever opens the bare address."""
    return Entry()


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is serving requests."""
    return Health()
