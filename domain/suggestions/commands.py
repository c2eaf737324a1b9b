"""Suggestion commands: record what a model suggested, and an agent's (or a rule's) acceptance or correction.

Accepting applies the suggested value through the field's own change (`change_type`,
`change_priority`, `assign`), in the same save as the acceptance, so the history shows both; a
correction does the same with the value the agent chose. A rule that applies a suggestion records
the model version as its cause (`domain/suggestions/rules.py: model_cause`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack
from uuid import UUID

from domain import values
from domain.pipeline import OnTicket, Receipt
from domain.provenance import current
from domain.races import retried
from domain.suggestions.rules import SUGGESTER, SUGGESTIONS_CHANNEL, Prediction, model_cause
from domain.tickets.commands import TicketCommands
from domain.tickets.ticket import Ticket
from domain.workflows.lifecycle import UNSOLVED_CATEGORIES


class SuggestionCommands(TicketCommands):
    """Suggestions on tickets: recorded by the suggestion process, accepted or corrected by agents and rules."""

    @retried
    def record_suggestions(self, ticket_id: UUID, predictions: Iterable[Prediction]) -> Receipt:
        """Record each prediction (judged worth saying) on the ticket, as the suggester; repeats record nothing."""
        ticket = self._ticket(ticket_id)
        if ticket.category not in UNSOLVED_CATEGORIES:
            return Receipt(ticket, None)  # solved or closed by now (history met on a first run): nothing to suggest
        with self._acting(SUGGESTER, SUGGESTIONS_CHANNEL, ticket):
            for made in predictions:
                ticket.suggest(
                    field=made.field, value=made.value, confidence=made.confidence, model_version=made.model_version
                )
        return self._commit(ticket)

    @retried
    def accept_suggestion(self, ticket_id: UUID, number: int, **how: Unpack[OnTicket]) -> Receipt:
        """Take suggestion `number`: its value is applied as the field's ordinary change, in one save."""
        self._check_field_change(ticket_id, number, None, how)

        def accept(ticket: Ticket) -> None:
            made = ticket.accept_suggestion(number)
            self._apply(ticket, made["field"], made["value"])

        return self._on_ticket(ticket_id, accept, **how)

    @retried
    def correct_suggestion(self, ticket_id: UUID, number: int, value: str, **how: Unpack[OnTicket]) -> Receipt:
        """Choose `value` instead of suggestion `number`: the choice is recorded and applied, in one save."""
        self._check_field_change(ticket_id, number, value, how)

        def correct(ticket: Ticket) -> None:
            made = ticket.correct_suggestion(number, value)
            self._apply(ticket, made["field"], value)

        return self._on_ticket(ticket_id, correct, **how)

    def apply_open_suggestions(self, ticket: Ticket, min_confidence: float) -> None:
        """Accept each open suggestion at or above `min_confidence` (a rule's action), in the current context.

        Each acceptance and its field's change record the suggesting model's version as their cause.
        """
        context = current()
        for made in ticket.suggestions:
            if made["outcome"] is None and made["confidence"] >= min_confidence:
                if made["field"] == "group":
                    self._check_routing(context.actor, made["value"])
                with self._acting(context.actor, context.via, ticket, caused_by=model_cause(made["model_version"])):
                    ticket.accept_suggestion(made["number"])
                    self._apply(ticket, made["field"], made["value"])

    def _check_field_change(self, ticket_id: UUID, number: int, value: str | None, how: OnTicket) -> None:
        # A group the caller may not route to is refused before anything is recorded, as `assign` refuses it.
        made = self._for_update(ticket_id, how).suggestion(number)
        if made["field"] == "group":
            self._check_routing(how["by"], value if value is not None else made["value"])

    def _apply(self, ticket: Ticket, field: str, value: str) -> None:
        if field == "type":
            ticket.change_type(value)
        elif field == "priority":
            ticket.change_priority(values.priority(value))
        else:
            self.check_assignment(ticket.tenant, None, value)
            ticket.assign(group=value)
