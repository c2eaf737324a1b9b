"""API keys for tests that call the API."""

from __future__ import annotations

from domain.access.policy import Role
from infrastructure.composition import Services


def key(services: Services, actor_id: str, role: Role, tenant: str = "acme") -> dict[str, str]:
    """Headers authenticating as a new key."""
    return {"Authorization": f"Bearer {services.keys.create(actor_id=actor_id, role=role, tenant=tenant).secret}"}
