"""The HelpDesk application: the commands and queries of every capability, over one event store.

Each capability's commands live in its room (domain/tickets/commands.py, domain/workflows/commands.py,
domain/directory/commands.py, domain/sla/commands.py, domain/keys/commands.py,
domain/privacy/commands.py, domain/automation/commands.py, domain/schedules/commands.py,
domain/mail/commands.py, domain/notifications/commands.py,
domain/knowledge/commands.py, domain/customers/commands.py), all on the one command pipeline
(domain/pipeline.py). Lists, queues and searches are not here: they are read models built by projections.
"""

from __future__ import annotations

from typing import Any, ClassVar

from domain.automation.commands import AutomationCommands
from domain.customers.commands import CustomerCommands
from domain.keys.commands import KeyCommands
from domain.knowledge.commands import KnowledgeCommands
from domain.mail.commands import MailCommands
from domain.notifications.commands import NotificationCommands
from domain.privacy.commands import ErasureCommands
from domain.schedules.commands import ScheduleCommands
from domain.sla.commands import SlaCommands
from domain.tickets.ticket import Ticket


class HelpDesk(
    MailCommands,
    AutomationCommands,
    ScheduleCommands,
    SlaCommands,
    KeyCommands,
    ErasureCommands,
    NotificationCommands,
    KnowledgeCommands,
    CustomerCommands,
):
    """Ticket commands and single-ticket queries over an eventsourcing event store."""

    name = "HelpDesk"
    # A snapshot every 100 events: loading (and as-of) a long-lived ticket replays at most 99 events.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Ticket: 100}
