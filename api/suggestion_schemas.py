"""Bodies and answers of suggestions (`/tickets/{id}/suggestions`, `/tickets/{id}/similar`, `/reports/suggestions`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Field_ = Literal["type", "group", "priority"]
Reason = Literal["off", "no_model", "too_few_training_tickets", "low_confidence", "not_yet"]


class SuggestionPublic(BaseModel):
    """A suggestion on record on a ticket, and how it ended."""

    number: int = Field(description="The suggestion's number on this ticket, from 1.")
    field: Field_
    value: str = Field(description="The value suggested.")
    confidence: float = Field(ge=0, le=1, description="The model's probability of the value.")
    model_version: int = Field(description="The tenant's model version that suggested it (`/suggestions/models`).")
    outcome: Literal["accepted", "corrected"] | None = Field(description="Null while no one has decided.")
    chosen: str | None = Field(default=None, description="The value kept: the suggested one, or the correction.")


class TicketSuggestions(BaseModel):
    """A ticket's suggestions, or why there are none (`abstained`): the desk does not guess."""

    ticket_id: UUID
    items: list[SuggestionPublic]
    abstained: Reason | None = Field(
        description="Why nothing is suggested: off, no_model (none trained yet), too_few_training_tickets, "
        "low_confidence (the model was not sure of any field), not_yet (the process has not come to it); "
        "null when there are suggestions."
    )


class SuggestionCorrection(BaseModel):
    """The value an agent chose instead of the suggested one."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=128, description="A type, group or priority, as the field takes.")


class SimilarTicketPublic(BaseModel):
    """A ticket like this one."""

    ticket_id: UUID
    title: str
    status: str
    score: float = Field(ge=0, le=1, description="Cosine similarity of the titles' character n-grams.")
    likely_duplicate: bool = Field(description="Whether the titles are close enough to be the same request.")


class ArticleForTicket(BaseModel):
    """A knowledge-base article that may answer the ticket."""

    article_id: UUID
    title: str
    language: str
    score: float | None = Field(description="The search's rank: higher is a better match.")


class SimilarTickets(BaseModel):
    """Tickets like this one that the caller reaches, most alike first, and articles that may answer it."""

    ticket_id: UUID
    items: list[SimilarTicketPublic]
    articles: list[ArticleForTicket] = Field(
        description="Knowledge-base articles sharing words of the title (Chinese: its character pairs), best first; "
        "customers get published public ones only (docs/knowledge-base.md)."
    )


class SuggestionTally(BaseModel):
    """One field's suggestions of one model version, and how agents and rules took them."""

    field: Field_
    model_version: int
    suggested: int
    accepted: int
    accepted_by_rules: int = Field(description="Of those accepted, how many a rule's `apply_suggestion` took.")
    corrected: int
    pending: int = Field(description="Not decided yet.")
    acceptance: float | None = Field(description="accepted / suggested.")
    accuracy: float | None = Field(description="accepted / (accepted + corrected): how often the value was right.")


class SuggestionReport(BaseModel):
    """How the tenant's suggestions fared, by field and model version."""

    tenant: str
    items: list[SuggestionTally]


class ModelVersionPublic(BaseModel):
    """A trained model version: what it learned from and how it did on held-out tickets."""

    version: int
    trained_at: datetime
    window: dict[str, datetime] = Field(description="The opening moments of the first and last ticket learned from.")
    size: int = Field(description="The solved and closed tickets it learned from.")
    seconds: float = Field(description="How long training took.")
    fields: dict[str, Any] = Field(
        description="Per field, scikit-learn's classification report on the stratified holdout (20%): precision, "
        "recall, f1-score and support per value, and accuracy."
    )


class ModelVersions(BaseModel):
    """The tenant's model versions, newest first."""

    items: list[ModelVersionPublic]
