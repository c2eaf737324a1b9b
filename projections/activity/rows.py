"""Audit activity (`audit_activity`): changes counted per tenant, UTC day, actor, organisation and event type."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

#: The event type under which saved views count in `audit_activity`.
SAVED_VIEW_CREATED = "SavedView.Created"
#: The event types under which a mailbox's configuration and removal count.
MAILBOX_CONFIGURED = "Mailbox.Configured"
MAILBOX_REMOVED = "Mailbox.Removed"

#: Event types that count as privileged actions in audit reports: those that key and web-user management,
#: the directory's groups and agents, policy and calendar changes, SLA escalation and erasure record, and
#: admins' changes of the tenant's set-up (workflows, webhooks, mailboxes, rules, schedules).
#: No ticket or saved-view event is privileged.
PRIVILEGED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "KeyCreated",
        "KeyRevoked",
        "KeyRotated",
        "UserCreated",
        "UserDeactivated",
        "UserAccessChanged",
        "UserPasswordReset",
        "GroupDefined",
        "AgentDefined",
        "PolicyDefined",
        "PolicyChanged",
        "CalendarDefined",
        "CalendarChanged",
        "SlaRecomputed",
        "PersonErased",
        # The set-up admins change from the API or the configuration pages (docs/ui.md).
        "WorkflowPublished",
        "EndpointRegistered",
        "EndpointChanged",
        "EndpointDisabled",
        "EndpointEnabled",
        "SecretRotated",
        "EndpointDeleted",
        MAILBOX_CONFIGURED,
        MAILBOX_REMOVED,
        "TriggerDefined",
        "AutomationDefined",
        "MacroDefined",
        "ScheduleDefined",
    }
)

#: How `audit_activity` keys a change without an organisation (NULL cannot be in a key).
NO_ORGANISATION = ""


class ActivityKey(NamedTuple):
    """One row of `audit_activity`: who changed what kind of thing, for which organisation, on which day (UTC)."""

    tenant: str
    day: date
    actor_id: str
    actor_kind: str
    organisation: str | None
    event_type: str
