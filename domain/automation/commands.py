"""Automation commands: define triggers and macros; apply a macro; run the triggers on one ticket event.

A trigger run is one ordinary command on the ticket: every trigger whose conditions hold fires
in order (by position), each recorded as `TriggerFired` (its name, version, the event it ran on,
its place in the chain) followed by its actions, made by `trigger:<name>` via `trigger` with the
event as causation id; all in one save. After each fire the conditions of the triggers that
have not fired yet are looked at again on the changed ticket (a chain), each trigger firing at
most once per event; a chain stops after `CHAIN_MAX` fires, recorded as `TriggerChainStopped`
naming the triggers that would have fired next. A trigger whose actions the ticket refuses (a
move its workflow does not allow, a group the directory does not know) is recorded as fired
with the reason it `failed`, and none of its actions is.

Exactly once: the ticket keeps the latest version whose event triggers fired on
(`triggers_through`); a run for an event at or below it records nothing, and of two runs that
race, the store takes one save.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Unpack, cast
from uuid import UUID

from domain import values
from domain.actors import Actor, ActorKind
from domain.automation.actions import Action, FollowUp, Notify, SetField
from domain.automation.facts import TRIGGER_PREFIX, changes_of, event_kind, facts
from domain.automation.rules import Macro, RuleBook, TimedRule, Trigger
from domain.customers.commands import CustomerCommands
from domain.errors import DomainError, NotFoundError, NotPermittedError
from domain.pipeline import Acting, ConfigReceipt, OnTicket, Receipt
from domain.provenance import current, event_cause
from domain.races import retried
from domain.suggestions.commands import SuggestionCommands
from domain.tickets.ticket import Ticket
from domain.values import ERASED
from domain.webhooks.commands import WebhookCommands

#: The most triggers that fire on one event, chained.
CHAIN_MAX = 10
#: The channel of triggers' changes, of timed rules', and of macros' (`via`).
TRIGGER_CHANNEL = "trigger"
AUTOMATION_CHANNEL = "automation"
MACRO_CHANNEL = "macro"
AUTOMATION_PREFIX = "automation:"


def trigger_actor(name: str) -> Actor:
    """Who a trigger's changes are recorded as."""
    return Actor(f"{TRIGGER_PREFIX}{name}", ActorKind.SYSTEM)


def automation_actor(name: str) -> Actor:
    """Who a timed rule's changes are recorded as."""
    return Actor(f"{AUTOMATION_PREFIX}{name}", ActorKind.SYSTEM)


class AutomationCommands(SuggestionCommands, WebhookCommands, CustomerCommands):
    """The commands and queries of a tenant's triggers and macros."""

    # --- defining ----------------------------------------------------------------------------------

    @retried
    def define_trigger(
        self,
        *,
        tenant: str,
        name: str,
        title: str,
        position: int,
        enabled: bool,
        on: Iterable[str],
        conditions: Mapping[str, Any] | None,
        actions: Iterable[Mapping[str, Any]],
        **how: Unpack[Acting],
    ) -> ConfigReceipt:
        """Define a trigger or change it (a new version); an identical definition records nothing."""
        with self._acting(tenant=tenant, **how):
            book = self.rule_book(tenant) or RuleBook.start(tenant=tenant)
            book.define_trigger(
                name, title=title, position=position, enabled=enabled, on=on, conditions=conditions, actions=actions
            )
        recordings = self.save(book)
        name = values.slug(name, "trigger name")
        return ConfigReceipt(
            name, book.triggers[name]["version"], recordings[-1].notification.id if recordings else None
        )

    @retried
    def define_macro(
        self, *, tenant: str, name: str, title: str, actions: Iterable[Mapping[str, Any]], **how: Unpack[Acting]
    ) -> ConfigReceipt:
        """Define a macro or change it (a new version); an identical definition records nothing."""
        with self._acting(tenant=tenant, **how):
            book = self.rule_book(tenant) or RuleBook.start(tenant=tenant)
            book.define_macro(name, title=title, actions=actions)
        recordings = self.save(book)
        name = values.slug(name, "macro name")
        return ConfigReceipt(name, book.macros[name]["version"], recordings[-1].notification.id if recordings else None)

    @retried
    def define_automation(
        self,
        *,
        tenant: str,
        name: str,
        title: str,
        position: int,
        enabled: bool,
        conditions: Mapping[str, Any],
        actions: Iterable[Mapping[str, Any]],
        **how: Unpack[Acting],
    ) -> ConfigReceipt:
        """Define a timed rule or change it (a new version); an identical definition records nothing."""
        with self._acting(tenant=tenant, **how):
            book = self.rule_book(tenant) or RuleBook.start(tenant=tenant)
            book.define_automation(
                name, title=title, position=position, enabled=enabled, conditions=conditions, actions=actions
            )
        recordings = self.save(book)
        name = values.slug(name, "automation name")
        version = book.automations[name]["version"]
        return ConfigReceipt(name, version, recordings[-1].notification.id if recordings else None)

    def automation(self, tenant: str, name: str) -> TimedRule:
        """A timed rule at its latest version, or NotFoundError."""
        book = self.rule_book(tenant)
        found = None if book is None else book.automation(name)
        if found is None:
            raise NotFoundError(f"no automation {name!r}")
        return found

    def run_automation(
        self, ticket_id: UUID, rule: TimedRule, *, instance: str, expected_version: int
    ) -> Receipt | None:
        """Fire a timed rule whose conditions held of the ticket at `expected_version`; once per instance.

        None if this instance fired already. A ticket changed since is refused (VersionMismatchError):
        the conditions were judged on what it was.
        """
        ticket = self._ticket_for_update(ticket_id, expected_version, None, automation_actor(rule.name))
        if instance in ticket.automations_fired:
            return None
        book = self.rule_book(ticket.tenant)
        attempt = copy.deepcopy(ticket)
        with self._acting(automation_actor(rule.name), AUTOMATION_CHANNEL, ticket):
            try:
                attempt.fire_automation(rule.name, rule.version, instance=instance)
                others = self._act(attempt, rule.actions, book)
            except DomainError as refused:
                ticket.fire_automation(rule.name, rule.version, instance=instance, failed=str(refused))
                return self._commit(ticket)
        return self._commit(attempt, *others)

    def rule_book(self, tenant: str) -> RuleBook | None:
        """The tenant's rule book (None: it has no rules)."""
        return self._configured(RuleBook, RuleBook.create_id(tenant))

    def trigger(self, tenant: str, name: str, version: int | None = None) -> Trigger:
        """A trigger at its latest version or at `version`, or NotFoundError."""
        book = self.rule_book(tenant)
        found = None if book is None else book.trigger(name)
        if book is not None and found is not None and version is not None and version != found.version:
            older = self._configured(RuleBook, book.id, self._book_version_of(book.id, "trigger", name, version))
            found = None if older is None else older.trigger(name)
        if found is None:
            raise NotFoundError(f"no trigger {name!r}" + ("" if version is None else f" version {version}"))
        return found

    def _book_version_of(self, book_id: UUID, kind: str, name: str, version: int) -> int | None:
        event_class = RuleBook.TriggerDefined if kind == "trigger" else RuleBook.MacroDefined
        for stored in self.events.get(book_id):
            if isinstance(stored, event_class) and stored.name == name and stored.version == version:
                return int(stored.originator_version)
        return None

    def macro(self, tenant: str, name: str) -> Macro:
        """A macro at its latest version, or NotFoundError."""
        book = self.rule_book(tenant)
        found = None if book is None else book.macro(name)
        if found is None:
            raise NotFoundError(f"no macro {name!r}")
        return found

    # --- macros ------------------------------------------------------------------------------------

    @retried
    def apply_macro(self, ticket_id: UUID, name: str, **how: Unpack[OnTicket]) -> Receipt:
        """Apply a macro's actions to a ticket as the caller, in one save (`via` says `macro`)."""
        ticket = self._for_update(ticket_id, how)
        macro = self.macro(ticket.tenant, name)
        with self._acting(how["by"], how["via"], ticket):
            others = self._act(ticket, macro.actions, None)
        return self._commit(ticket, *others)

    # --- triggers ----------------------------------------------------------------------------------

    def run_triggers(
        self,
        ticket_id: UUID,
        cause: int,
        *,
        event: Ticket.Event | None = None,
        rule_books: Callable[[str], RuleBook | None] | None = None,
    ) -> Receipt | None:
        """Fire the tenant's triggers on the ticket's event at version `cause`; None if nothing is recorded.

        A caller that has the event already, or keeps the tenants' rule books (the trigger runner, which
        reads both from the log), passes them on instead of having them read again.
        """
        ticket = self._ticket(ticket_id)
        if cause <= ticket.triggers_through or cause > ticket.version:
            return None
        if event is None:
            (stored,) = self.events.get(ticket_id, gt=cause - 1, lte=cause)
            event = cast("Ticket.Event", stored)
        kind = event_kind(event)
        book = None if kind is None else (rule_books or self.rule_book)(ticket.tenant)
        triggers = [] if book is None or kind is None else [t for t in book.enabled_triggers() if t.runs_on(kind)]
        if not triggers or kind is None:
            return None
        # The first conditions see the ticket as the event left it; later ones, as the triggers before left it.
        seen = ticket if ticket.version == cause else self.repository.get(ticket_id, version=cause)
        changes = changes_of([event])
        # The requester's tier as the triggers run: what they fired on is on record, so a replay never asks again.
        tier = self.customer_tier(ticket.tenant, seen.requester_id)
        state, others, fired = seen, list[Ticket](), list[str]()
        while True:
            held = [
                t
                for t in triggers
                if t.name not in fired and t.conditions.holds(facts(state, event, kind, changes, customer_tier=tier))
            ]
            if not held:
                break
            if len(fired) == CHAIN_MAX:
                with self._acting(
                    trigger_actor(held[0].name), TRIGGER_CHANNEL, ticket, caused_by=event_cause(ticket.id, cause)
                ):
                    ticket.stop_trigger_chain(cause=cause, depth=len(fired), not_fired=[t.name for t in held])
                break
            chosen = held[0]
            fired.append(chosen.name)
            before = len(ticket.pending_events)
            ticket, made = self._fire(ticket, chosen, book, cause=cause, depth=len(fired))
            others += made
            changes = {**changes, **changes_of(ticket.pending_events[before:])}
            state = ticket
        if not fired:
            return None
        return self._commit(ticket, *others)

    def _fire(
        self, ticket: Ticket, trigger: Trigger, book: RuleBook | None, *, cause: int, depth: int
    ) -> tuple[Ticket, list[Ticket]]:
        """Record the trigger and its actions on a copy; the copy if the ticket took them all, else the refusal."""
        attempt = copy.deepcopy(ticket)
        with self._acting(
            trigger_actor(trigger.name), TRIGGER_CHANNEL, ticket, caused_by=event_cause(ticket.id, cause)
        ):
            try:
                attempt.fire_trigger(trigger.name, trigger.version, cause=cause, depth=depth)
                others = self._act(attempt, trigger.actions, book)
            except DomainError as refused:
                ticket.fire_trigger(trigger.name, trigger.version, cause=cause, depth=depth, failed=str(refused))
                return ticket, []
        return attempt, others

    # --- actions -----------------------------------------------------------------------------------

    def _act(self, ticket: Ticket, actions: Iterable[Action], book: RuleBook | None) -> list[Ticket]:
        """Carry out actions on a loaded ticket in the current command context; other tickets they changed."""
        others: list[Ticket] = []
        for action in actions:
            others += self._one(ticket, action, book)
        return others

    def _one(self, ticket: Ticket, action: Action, book: RuleBook | None) -> list[Ticket]:
        kind, value = action.kind, action.value
        by = current().actor
        if kind == "set_status":
            return [] if ticket.status == value else self.move(ticket, value)
        if kind == "set_priority":
            ticket.change_priority(values.priority(value))
        elif kind == "set_type":
            ticket.change_type(value)
        elif kind == "set_group":
            self._check_routing(by, value)
            self.check_assignment(ticket.tenant, None, value)
            ticket.assign(group=value)
        elif kind == "set_assignee":
            self._set_assignee(ticket, value)
        elif kind == "add_tags":
            ticket.add_tags(value)
        elif kind == "remove_tags":
            ticket.remove_tags(value)
        elif kind == "set_custom_field":
            field: SetField = value
            defined = self._defined_fields(ticket.tenant, {field.name: field.value}, ticket.requester_id)
            ticket.set_custom_field(field.name, defined[field.name])
        elif kind == "add_note":
            ticket.add_comment(value, public=False)
        elif kind == "open_follow_up":
            return self._follow_up(ticket, value)
        elif kind == "notify":
            wanted: Notify = value
            ticket.request_notification(wanted.to, wanted.template)  # the notifier finds who and sends
        elif kind in {"apply_macro", "call_webhook", "apply_suggestion"}:
            return self._named(ticket, action, book)
        return []

    def _named(self, ticket: Ticket, action: Action, book: RuleBook | None) -> list[Ticket]:
        """An action naming something else of the tenant: a macro to apply, a webhook endpoint to call, suggestions."""
        if action.kind == "apply_suggestion":
            self.apply_open_suggestions(ticket, action.value)  # its model's suggestions (docs/suggestions.md)
            return []
        if action.kind == "call_webhook":
            self.webhook(ticket.tenant, action.value)  # the tenant's own endpoint, or NotFoundError: the rule failed
            ticket.request_webhook(action.value)
            return []
        macro = None if book is None else book.macro(action.value)
        if macro is None:
            raise NotFoundError(f"no macro {action.value!r}")
        return self._act(ticket, macro.actions, None)

    def _set_assignee(self, ticket: Ticket, assignee: str | None) -> None:
        if assignee is None:
            ticket.unassign()
            return
        self.check_assignment(ticket.tenant, assignee, None)
        ticket.assign(assignee=assignee)

    def _follow_up(self, source: Ticket, wanted: FollowUp) -> list[Ticket]:
        """A new ticket for the source's requester, linked to it both ways (in the current command context).

        A follow-up opens no follow-up of its own, so rules that open them cannot feed each other forever.
        """
        if source.opened_by.startswith((TRIGGER_PREFIX, AUTOMATION_PREFIX)):
            msg = f"this ticket is a follow-up (opened by {source.opened_by}); it opens no follow-up of its own"
            raise NotPermittedError(msg)
        follow_up = self._new_ticket(
            tenant=source.tenant,
            title=wanted.title,
            description=wanted.description,
            requester_id=source.requester_id,
            requester_name=None if source.requester_name == ERASED else source.requester_name,
            requester_email=None if source.requester_email == ERASED else source.requester_email,
            organisation=source.organisation,
            priority=wanted.priority or source.priority.value,
            ticket_type=wanted.ticket_type,
            group=wanted.group or source.group,
        )
        follow_up.link(wanted.link, source)
        source.link(wanted.link.inverse, follow_up)
        return [follow_up]
