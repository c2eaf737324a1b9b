"""How suggestions fared: per field and model version, how many were made, accepted and corrected.

Read from the log (the suggestion events name their tenant), so the report is exact and needs no
table of its own. Acceptance is the share of suggestions taken; accuracy is the share of those
agents decided on (taken or corrected) whose suggested value was the one kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.helpdesk import HelpDesk
from domain.suggestions.rules import MODEL_CAUSE
from domain.tickets.ticket import Ticket

PAGE = 1000
_TOPICS = [f"{Ticket.__module__}:Ticket.{name}" for name in ("Suggested", "SuggestionAccepted", "SuggestionCorrected")]


@dataclass
class Tally:
    """One field's suggestions of one model version."""

    field: str
    model_version: int
    suggested: int = 0
    accepted: int = 0
    accepted_by_rules: int = 0
    corrected: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The tally with its shares (None where nothing was counted yet)."""
        decided = self.accepted + self.corrected
        return {
            "field": self.field,
            "model_version": self.model_version,
            "suggested": self.suggested,
            "accepted": self.accepted,
            "accepted_by_rules": self.accepted_by_rules,
            "corrected": self.corrected,
            "pending": self.suggested - decided,
            "acceptance": round(self.accepted / self.suggested, 4) if self.suggested else None,
            "accuracy": round(self.accepted / decided, 4) if decided else None,
        }


def suggestion_report(desk: HelpDesk, tenant: str) -> list[Tally]:
    """The tenant's tallies, by field and model version."""
    tallies: dict[tuple[str, int], Tally] = {}
    for event in _events(desk, tenant):
        key = (event.field, event.model_version)
        tally = tallies.setdefault(key, Tally(*key))
        if isinstance(event, Ticket.Suggested):
            tally.suggested += 1
        elif isinstance(event, Ticket.SuggestionAccepted):
            tally.accepted += 1
            if (event.causation_id or "").startswith(MODEL_CAUSE):
                tally.accepted_by_rules += 1
        else:
            tally.corrected += 1
    return [tallies[key] for key in sorted(tallies)]


def _events(desk: HelpDesk, tenant: str) -> Iterator[Any]:
    start = 1
    while True:
        page = desk.recorder.select_notifications(start=start, limit=PAGE, topics=_TOPICS)
        for notification in page:
            event = desk.mapper.to_domain_event(notification)
            if getattr(event, "tenant", None) == tenant:
                yield event
        if len(page) < PAGE:
            return
        start = page[-1].id + 1
