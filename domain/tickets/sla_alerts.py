"""SLA alerts a ticket records: a warning that a target is nearly due, or that it was breached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

#: What an alert says: the target is nearly due, or its due moment passed.
AlertKind = Literal["warning", "breach"]


@dataclass(frozen=True, slots=True)
class SlaAlert:
    """Which target of which cycle a warning or breach is about, and under which policy version."""

    target: str
    cycle: int
    due_at: datetime
    policy_id: str
    policy_version: int

    def fields(self) -> dict[str, Any]:
        """The alert as event fields."""
        return {
            "target": self.target,
            "cycle": self.cycle,
            "due_at": self.due_at,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
        }


def alert_key(kind: AlertKind, target: str, cycle: int) -> str:
    """How a ticket remembers an alert it recorded: `<kind>:<target>:<cycle>` (one of each per target and cycle)."""
    return f"{kind}:{target}:{cycle}"
