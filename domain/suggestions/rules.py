"""The pure rules of suggestions: which fields are suggested, when the desk abstains, what a suggestion is.

The model that computes suggestions lives outside the domain (infrastructure/suggestions/); the
domain knows only its answers: a value for a field with a confidence, from a model version. It
decides whether such an answer is worth saying (the confidence floor) and whether a tenant has
enough history for a model at all (the minimum training size). Below either, nothing is
suggested, and the reason is said instead: the desk does not guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError

#: The fields a model suggests, by the name the API and the history use.
FIELDS = ("type", "group", "priority")
#: Below this confidence a suggestion is not made (a setting may raise or lower it).
CONFIDENCE_FLOOR = 0.6
#: A tenant with fewer solved tickets than this gets no model: too little to learn from.
MIN_TRAINING_TICKETS = 30
#: Who records suggestions: the suggestion process, via its own channel.
SUGGESTER = Actor("suggester", ActorKind.SYSTEM)
SUGGESTIONS_CHANNEL = "suggestions"
#: The prefix of the cause recorded with a change a rule applied from a suggestion (then the model's version).
MODEL_CAUSE = "suggestion-model:"


class Abstention(StrEnum):
    """Why nothing is suggested for a ticket."""

    OFF = "off"  # suggestions are turned off (a setting)
    NO_MODEL = "no_model"  # the tenant has no trained model yet
    TOO_FEW_TICKETS = "too_few_training_tickets"  # the tenant's history is below the minimum training size
    LOW_CONFIDENCE = "low_confidence"  # the model was not sure enough of any field
    NOT_YET = "not_yet"  # the ticket was opened before the suggestion process came to it


@dataclass(frozen=True, slots=True)
class Prediction:
    """A model's answer for one field of a ticket: the value it finds likeliest and how likely."""

    field: str
    value: str
    confidence: float  # the model's calibrated probability of `value`, 0..1
    model_version: int

    def __post_init__(self) -> None:
        suggestion_field(self.field)
        if not 0.0 <= self.confidence <= 1.0:
            msg = f"a confidence is between 0 and 1 (got {self.confidence})"
            raise InvalidValueError(msg)


def suggestion_field(name: str) -> str:
    """`name` if it is a field suggestions are made for, else InvalidValueError."""
    if name not in FIELDS:
        msg = f"suggestions are made for {', '.join(FIELDS)} (got {name!r})"
        raise InvalidValueError(msg)
    return name


def worth_saying(prediction: Prediction, floor: float = CONFIDENCE_FLOOR) -> bool:
    """Whether a prediction is sure enough to be suggested."""
    return prediction.confidence >= floor


def enough_to_learn(solved_tickets: int, minimum: int = MIN_TRAINING_TICKETS) -> bool:
    """Whether a tenant's solved tickets are enough to train a model on."""
    return solved_tickets >= minimum


def model_cause(model_version: int) -> str:
    """The cause a change applied from a suggestion records: the model version that suggested it."""
    return f"{MODEL_CAUSE}{model_version}"
