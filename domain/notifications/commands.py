"""Notification commands: a tenant's templates, people's opt-outs, and the notifier's records on tickets.

The notifier (infrastructure/notifications/) records what it sent as actor `notifier` via
`email`, each record caused by the event it told of, so a ticket's history shows every message
sent about it: to whom (the person, never the address), of what kind, and its Message-ID.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Unpack
from uuid import UUID

from domain.actors import Actor, ActorKind
from domain.notifications.preferences import Choice, NotificationPreferences
from domain.notifications.templates import NotificationTemplates, Template
from domain.pipeline import Acting, CommandPipeline
from domain.provenance import event_cause
from domain.races import retried

#: Who the notifier acts as, and its channel.
NOTIFIER_ACTOR = Actor("notifier", ActorKind.SYSTEM)
NOTIFIER_CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """What a ticket's record says of one notification: to whom, of what kind, its Message-ID, its cause."""

    recipient_id: str
    recipient_kind: str
    kind: str
    message_id: str
    cause: int  # the log position of the event it told of
    cause_version: int  # that event's version of the ticket

    def facts(self) -> dict[str, Any]:
        """The event's fields."""
        return {
            "recipient_id": self.recipient_id,
            "recipient_kind": self.recipient_kind,
            "kind": self.kind,
            "message_id": self.message_id,
            "cause": self.cause,
        }

    def caused_by(self, ticket_id: UUID) -> str:
        """The causation id: the event told of."""
        return event_cause(ticket_id, self.cause_version)


class NotificationCommands(CommandPipeline):
    """The commands and queries of notification templates, preferences and records."""

    @retried
    def set_notification_template(
        self, *, tenant: str, kind: str, language: str, template: Template, **how: Unpack[Acting]
    ) -> int | None:
        """Set a tenant's template of a kind in a language; the log position (None: it was so already)."""
        with self._acting(tenant=tenant, **how):
            templates = self.notification_templates(tenant) or NotificationTemplates.start(tenant=tenant)
            templates.set_template(kind, language, template)
        recordings = self.save(templates)
        return recordings[-1].notification.id if recordings else None

    @retried
    def choose_notifications(
        self,
        *,
        tenant: str,
        person_id: str,
        email: bool,
        kinds: Mapping[str, bool],
        language: str | None,
        **how: Unpack[Acting],
    ) -> int | None:
        """Record a person's notification choice; the log position (None: it was so already)."""
        with self._acting(tenant=tenant, **how):
            preferences = self.notification_preferences(tenant) or NotificationPreferences.start(tenant=tenant)
            preferences.choose(person_id, email=email, kinds=kinds, language_tag=language)
        recordings = self.save(preferences)
        return recordings[-1].notification.id if recordings else None

    @retried
    def record_notification_sent(self, ticket_id: UUID, record: NotificationRecord) -> int:
        """Put on the ticket's record that a notification was accepted by the mail server; the log position."""
        ticket = self._ticket(ticket_id)
        with self._acting(NOTIFIER_ACTOR, NOTIFIER_CHANNEL, ticket, caused_by=record.caused_by(ticket_id)):
            ticket.record_notification_sent(**record.facts())
        return int(self.save(ticket)[-1].notification.id)

    @retried
    def record_notification_failed(self, ticket_id: UUID, record: NotificationRecord, *, error: str) -> int:
        """Put on the ticket's record that a notification was given up, and why; the log position."""
        ticket = self._ticket(ticket_id)
        with self._acting(NOTIFIER_ACTOR, NOTIFIER_CHANNEL, ticket, caused_by=record.caused_by(ticket_id)):
            ticket.record_notification_failed(**record.facts(), error=error)
        return int(self.save(ticket)[-1].notification.id)

    # --- queries -----------------------------------------------------------------------------------

    def notification_templates(self, tenant: str) -> NotificationTemplates | None:
        """The tenant's own templates (None: it never set one)."""
        return self._configured(NotificationTemplates, NotificationTemplates.create_id(tenant))

    def notification_preferences(self, tenant: str) -> NotificationPreferences | None:
        """Everyone's notification choices in the tenant (None: nobody chose)."""
        return self._configured(NotificationPreferences, NotificationPreferences.create_id(tenant))

    def notification_choice(self, tenant: str, person_id: str) -> Choice:
        """One person's notification choice (everything wanted when they never chose)."""
        preferences = self.notification_preferences(tenant)
        return Choice() if preferences is None else preferences.of(person_id)
