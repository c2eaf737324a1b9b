"""A ticket's history as auditors read it: who changed what, when, through which channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after a change (None where it had or has no value)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded event of a ticket, in the words of an audit trail."""

    version: int
    at: datetime
    actor_id: str
    actor_kind: str
    via: str
    event: str
    changes: tuple[FieldChange, ...]
