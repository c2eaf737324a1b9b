"""What a batch changed of routing's state: last routed agent per group, last assignment per agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


@dataclass
class RoutingChanges:
    """Keyed by tenant, so one batch writes each key once (the latest event of the batch wins)."""

    # (tenant, group) -> (agent, log position) of the group's latest routing decision: round robin's pointer
    last_routed: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    # (tenant, agent) -> when the agent was last given a ticket: least loaded's "longest idle"
    last_assigned: dict[tuple[str, str], datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """A ticket waiting, unassigned and unsolved, in a group's queue."""

    ticket_id: UUID
    version: int
    ticket_type: str | None
    tags: frozenset[str]
