"""What the rest of the desk asks of suggestions: predictions for a ticket, or why there are none.

Models are read from the store once per version and kept (a tenant's newest version replaces its
older one in the cache when the store has a newer one). Whether a prediction is worth saying, and
whether a tenant has history enough, are the domain's rules (domain/suggestions/rules.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.suggestions.rules import Abstention, Prediction, enough_to_learn, worth_saying
from domain.tickets.ticket import Ticket
from infrastructure.suggestions.model import TenantModel, text_of
from infrastructure.suggestions.store import ModelStore, ModelVersion


@dataclass(frozen=True, slots=True)
class Answer:
    """The suggestions for a ticket, or the reason there are none."""

    predictions: list[Prediction]
    abstained: Abstention | None = None


@dataclass
class Suggestions:
    """Predictions from each tenant's newest model, under the desk's settings."""

    store: ModelStore
    enabled: bool = True
    off_tenants: frozenset[str] = frozenset()
    floor: float = 0.6
    min_tickets: int = 30
    count_done: Callable[[str], int] | None = None  # a tenant's solved and closed tickets (why there is no model)
    _models: dict[str, tuple[int, TenantModel]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_for(self, tenant: str) -> bool:
        """Whether the tenant gets suggestions at all."""
        return self.enabled and tenant not in self.off_tenants

    def predict(self, tenant: str, title: str, description: str) -> Answer:
        """The predictions worth saying for a ticket's words, or why there are none."""
        if not self.on_for(tenant):
            return Answer([], Abstention.OFF)
        latest = self.store.latest(tenant)
        if latest is None:
            few = self.count_done is not None and not enough_to_learn(self.count_done(tenant), self.min_tickets)
            return Answer([], Abstention.TOO_FEW_TICKETS if few else Abstention.NO_MODEL)
        if not enough_to_learn(latest.size, self.min_tickets):
            return Answer([], Abstention.TOO_FEW_TICKETS)
        model = self._model(latest)
        found = [
            Prediction(name, value, confidence, latest.version)
            for name, (value, confidence) in model.predict(text_of(title, description)).items()
        ]
        said = [p for p in found if worth_saying(p, self.floor)]
        return Answer(said, None if said else Abstention.LOW_CONFIDENCE)

    def for_ticket(self, ticket: Ticket) -> Answer:
        """A ticket's recorded suggestions' reason to be empty, when they are (None when there are some)."""
        if ticket.suggestions:
            return Answer([])
        answer = self.predict(ticket.tenant, ticket.title, ticket.description)
        if answer.abstained is None:  # a model would suggest: the process has not come to this ticket yet
            return Answer([], Abstention.NOT_YET)
        return Answer([], answer.abstained)

    def latest(self, tenant: str) -> ModelVersion | None:
        """The tenant's newest model version on record."""
        return self.store.latest(tenant)

    def model(self, tenant: str) -> TenantModel | None:
        """The tenant's newest model, or None."""
        latest = self.store.latest(tenant)
        return None if latest is None else self._model(latest)

    def _model(self, version: ModelVersion) -> TenantModel:
        with self._lock:
            cached = self._models.get(version.tenant)
            if cached is not None and cached[0] == version.version:
                return cached[1]
        loaded = self.store.load(version.tenant, version.version)
        with self._lock:
            self._models[version.tenant] = (version.version, loaded)
        return loaded


def plain(made: dict[str, Any]) -> dict[str, Any]:
    """A recorded suggestion in the API's words."""
    return {
        "number": made["number"],
        "field": made["field"],
        "value": made["value"],
        "confidence": round(float(made["confidence"]), 4),
        "model_version": made["model_version"],
        "outcome": made["outcome"],
        "chosen": made.get("chosen"),
    }
