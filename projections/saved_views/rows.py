"""A saved view (`saved_views`): a named, stored set of ticket-list filters of a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass
class SavedViewRow:
    """A named, stored set of ticket-list filters."""

    view_id: UUID
    tenant: str
    name: str
    filters: dict[str, Any]
    created_by: str
    created_at: datetime
