"""The timed-rule runner: every so often, fires the tenants' timed rules whose hours have come.

No event happens when a ticket has been pending for 72 hours, so a process looks: every
`interval_seconds` (`LEDGERDESK_AUTOMATION_INTERVAL_SECONDS`, 60 s) it reads each tenant's
tickets not closed from the read model, judges each enabled timed rule on the row at the
clock's moment (domain/automation/facts.py `timed_facts`), and calls `HelpDesk.run_automation`
for the first that holds, with the row's ticket version.

Exactly once per (rule, ticket, instance), with any number of runners and after downtime: an
instance is the rule and the moments its hours count from (72 hours in pending counts from the
moment the ticket entered pending; back in pending later is another instance). The ticket keeps
the instances fired on it and refuses a second; the row's version makes sure the judgement is of
the ticket as it is (a ticket changed since is judged again next time); of two runners that
fire at once, the store takes one save. After downtime, what became due meanwhile fires at the
first look. `preview` judges the same way and stores nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.automation.facts import instance_of, timed_facts
from domain.automation.rules import TimedRule
from domain.errors import DomainError, RaceLostError, VersionMismatchError
from domain.helpdesk import HelpDesk
from infrastructure.periodic import Periodic
from infrastructure.readmodels.store import ReadModels
from projections.sla.rows import NO_DUE
from projections.tickets.rows import TicketRow

log = logging.getLogger("ledgerdesk.automations")
PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Due:
    """A timed rule whose conditions hold of a ticket now, and the instance that would fire."""

    ticket_id: UUID
    rule: TimedRule
    instance: str
    version: int


@dataclass(slots=True)
class RunResult:
    """What a look did (the stored events are the record)."""

    fired: int = 0
    stale: int = 0  # the ticket changed after the read model showed it: judged again next time
    failed: int = 0


def row_fields(row: TicketRow) -> dict[str, Any]:
    """A read-model row's fields, in the names conditions use."""
    fields: dict[str, Any] = {
        "status": row.status,
        "status_category": row.status_category,
        "priority": row.priority,
        "type": row.ticket_type,
        "group": row.group,
        "assignee": row.assignee,
        "channel": row.channel,
        "requester_id": row.requester_id,
        "organisation": row.organisation,
        "tags": list(row.tags),
        "workflow": row.workflow,
        "title": row.title,
    }
    for name, value in row.custom_fields.items():
        fields[f"custom_fields.{name}"] = value.get("value") if isinstance(value, dict) else value
    return fields


def row_moments(row: TicketRow) -> dict[str, datetime | None]:
    """The moments a row's hours count from."""
    return {
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "status_since": row.status_since or row.updated_at,
        "solved_at": row.solved_at,
        "sla_due_at": None if row.sla_due_at == NO_DUE else row.sla_due_at,
        "last_contact_customer_at": row.last_contact_customer_at,
        "last_contact_agent_at": row.last_contact_agent_at,
    }


def due_on(row: TicketRow, rules: list[TimedRule], now: datetime) -> list[Due]:
    """The rules whose conditions hold of the row at `now`, in order, each with its instance."""
    facts = timed_facts(row_fields(row), row_moments(row), now)
    moments = row_moments(row)
    return [
        Due(row.ticket_id, rule, instance_of(rule.name, rule.conditions, moments), row.version)
        for rule in rules
        if rule.conditions.holds(facts)
    ]


class AutomationRunner(Periodic):
    """Fires timed rules: one `run_once` at a time, or in a thread."""

    thread_name = "ledgerdesk-automations"
    work_name = "timed rules"

    def __init__(self, desk: HelpDesk, read_models: ReadModels, *, interval_seconds: float = 60.0) -> None:
        super().__init__(interval_seconds, log)
        self.desk = desk
        self.read_models = read_models

    def run_once(self, now: datetime | None = None) -> RunResult:
        """Look at every tenant's tickets once; fire what is due and has not fired."""
        moment = self.desk.clock() if now is None else now
        result = RunResult()
        for tenant in self.read_models.tickets().tenants():
            book = self.desk.rule_book(tenant)
            rules = [] if book is None else book.enabled_automations()
            if rules:
                self._run_tenant(tenant, rules, moment, result)
        return result

    def due(self, tenant: str, rules: list[TimedRule], now: datetime) -> list[Due]:
        """What would fire now (a look that stores nothing), leaving out instances fired already."""
        found: list[Due] = []
        for row in self._rows(tenant):
            for due in due_on(row, rules, now):
                if due.instance not in self.desk.get_ticket(due.ticket_id).automations_fired:
                    found.append(due)
                    break
        return found

    def _run_tenant(self, tenant: str, rules: list[TimedRule], now: datetime, result: RunResult) -> None:
        for row in self._rows(tenant):
            if self._stopping.is_set():
                return
            for due in due_on(row, rules, now):
                if self._fire(due, result):
                    break  # the ticket changed: the next look judges the other rules on it

    def _rows(self, tenant: str) -> Any:
        after = None
        while True:
            page = self.read_models.tickets().not_closed(tenant, after=after, limit=PAGE_SIZE)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].ticket_id

    def _fire(self, due: Due, result: RunResult) -> bool:
        """Fire one; whether something was recorded."""
        try:
            receipt = self.desk.run_automation(
                due.ticket_id, due.rule, instance=due.instance, expected_version=due.version
            )
        except (VersionMismatchError, RaceLostError):
            result.stale += 1
            return True
        except DomainError:
            log.exception("timed rule %s on %s failed", due.rule.name, due.ticket_id)
            result.failed += 1
            return False
        if receipt is None:
            return False
        result.fired += 1
        return True

    def _round(self) -> RunResult:
        return self.run_once()

    def _worth_telling(self, result: RunResult) -> bool:
        return bool(result.fired or result.failed)
