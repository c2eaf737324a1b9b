"""How events count in the audit activity.

Ticket and saved-view events count, and the administrative ones of keys, web users, the directory, data
subjects, SLA policies and calendars, and what admins change of a tenant's set-up: workflows published,
webhook endpoints, mailboxes configured or removed, triggers, automations, macros and schedules defined.
Events of other kinds are not counted.

A merge counts as the two changes it made, each on its ticket and under its own type, by the
merging agent: `MergedInto` and `Merged` (as a link counts on both tickets). The comments
`Merged` copies are not counted again: their authors' `CommentAdded` counted when and by whom
they were written, and a copy made later by someone else is no comment of theirs that day.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.automation.rules import RuleBook
from domain.directory.directory import Directory
from domain.keys.api_key import ApiKey
from domain.keys.user_account import UserAccount
from domain.mail.mailboxes import Mailbox
from domain.privacy.data_subject import DataSubject
from domain.schedules.book import ScheduleBook
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.webhooks.registry import WebhookRegistry
from domain.workflows.catalogue import WorkflowCatalogue
from projections.activity.rows import MAILBOX_CONFIGURED, MAILBOX_REMOVED, SAVED_VIEW_CREATED, ActivityKey
from projections.batch import Folding
from projections.periods import utc_day


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds are not counted."""


@fold.register(Ticket.Event)
def _ticket_event(event: Ticket.Event, f: Folding) -> None:
    # Under its ticket's tenant and organisation, by class name.
    ticket = f.ticket(event.originator_id)
    count(f, event, ticket.tenant, ticket.organisation, type(event).__name__)


@fold.register(SavedView.Created)
def _saved_view_created(event: SavedView.Created, f: Folding) -> None:
    count(f, event, event.tenant, None, SAVED_VIEW_CREATED)


@fold.register(ApiKey.Event)
@fold.register(UserAccount.Event)
@fold.register(Directory.Event)
@fold.register(DataSubject.Event)
@fold.register(SlaPolicy.Event)
@fold.register(WorkCalendar.Event)
def _tenant_event(
    event: ApiKey.Event
    | UserAccount.Event
    | Directory.Event
    | DataSubject.Event
    | SlaPolicy.Event
    | WorkCalendar.Event,
    f: Folding,
) -> None:
    count(f, event, event.tenant, None, type(event).__name__)


def count(f: Folding, event: Any, tenant: str, organisation: str | None, event_type: str) -> None:
    """Count one change under its key."""
    key = ActivityKey(tenant, utc_day(event.timestamp), event.actor_id, event.actor_kind, organisation, event_type)
    f.batch.activity[key] = f.batch.activity.get(key, 0) + 1


@fold.register(WorkflowCatalogue.WorkflowPublished)
@fold.register(WebhookRegistry.EndpointRegistered)
@fold.register(WebhookRegistry.EndpointChanged)
@fold.register(WebhookRegistry.EndpointDisabled)
@fold.register(WebhookRegistry.EndpointEnabled)
@fold.register(WebhookRegistry.SecretRotated)
@fold.register(WebhookRegistry.EndpointDeleted)
@fold.register(RuleBook.TriggerDefined)
@fold.register(RuleBook.AutomationDefined)
@fold.register(RuleBook.MacroDefined)
@fold.register(ScheduleBook.ScheduleDefined)
def _set_up_changed(event: Any, f: Folding) -> None:
    # An admin's change of the tenant's set-up, under its own class name (each is unique among them).
    count(f, event, event.tenant, None, type(event).__name__)


@fold.register(Mailbox.Configured)
@fold.register(Mailbox.Removed)
def _mailbox_changed(event: Mailbox.Configured | Mailbox.Removed, f: Folding) -> None:
    # "Configured" and "Removed" alone would not say of what.
    label = MAILBOX_CONFIGURED if isinstance(event, Mailbox.Configured) else MAILBOX_REMOVED
    count(f, event, event.tenant, None, label)
