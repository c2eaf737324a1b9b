"""Who wants which notifications: each person's opt-outs and language, kept per tenant.

One record per tenant (its id follows from the tenant), so the notifier reads everyone's choices
in one load. Each change names who made it: people change their own (`PUT /me/notifications`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import event

from domain.actors import identifier
from domain.notifications.kinds import Kind, kind, language
from domain.provenance import Recorded, TenantOwned

_PREFERENCES = uuid.UUID("5c2e8f4a-1d7b-4b3e-9f6a-2e8d4c1b7a95")


@dataclass(frozen=True, slots=True)
class Choice:
    """A person's choice: e-mail at all, then per kind (a kind not named follows `email`), and their language."""

    email: bool = True
    kinds: Mapping[str, bool] = field(default_factory=dict)
    language: str | None = None  # None: the tenant's default

    def wants(self, what: Kind) -> bool:
        """Whether the person wants mail of this kind."""
        return self.email and self.kinds.get(what.value, True)


class NotificationPreferences(TenantOwned):
    """Every person's notification choices in a tenant."""

    class Event(TenantOwned.Event):
        """Base of the preferences' events."""

    class Started(Event, Recorded.Created):
        """The tenant's first choice is about to be recorded."""

    class ChoiceMade(Event):
        """A person's whole choice, replacing the one before."""

        person_id: str
        email: bool
        kinds: dict[str, bool]
        language: str | None

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's preferences."""
        return uuid.uuid5(_PREFERENCES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> NotificationPreferences:
        """New, empty preferences for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.choices: dict[str, dict[str, Any]] = {}

    def choose(self, person_id: str, *, email: bool, kinds: Mapping[str, bool], language_tag: str | None) -> None:
        """Record a person's choice (kinds checked, the language a tag); the same choice records nothing."""
        person = identifier(person_id, "person")
        checked = {kind(name).value: bool(wanted) for name, wanted in sorted(kinds.items())}
        tag = None if language_tag is None else language(language_tag)
        if self.choices.get(person) == {"email": email, "kinds": checked, "language": tag}:
            return
        self._choice_made(person_id=person, email=bool(email), kinds=checked, language=tag)

    @event(ChoiceMade)
    def _choice_made(self, *, person_id: str, email: bool, kinds: dict[str, bool], language: str | None) -> None:
        self.choices = {**self.choices, person_id: {"email": email, "kinds": kinds, "language": language}}

    def of(self, person_id: str) -> Choice:
        """A person's choice (everything wanted, the tenant's language, when they never chose)."""
        found = self.choices.get(person_id)
        return Choice() if found is None else Choice(found["email"], dict(found["kinds"]), found["language"])
