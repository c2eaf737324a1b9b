"""Who is told of what: the pure rules that turn a ticket event into the notifications it causes.

- the requester, of an agent's public reply and of the ticket's solving (with a link to rate it);
- the assignee, of an assignment to them (not when they assigned themselves);
- the group's members (or, without a group, the assignee), of an SLA warning or breach;
- each agent @mentioned in an internal note;
- whoever a rule's `notify` action names.

Internal notes never reach the requester, and nobody is told of their own action. Whether a
person wants the mail (their opt-outs) and has an address is asked afterwards, by the notifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.actors import ActorKind
from domain.notifications.kinds import Kind
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status


class Audience(StrEnum):
    """Whose address a recipient's is: the ticket's requester's, or an agent's of the directory."""

    REQUESTER = "requester"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person to tell, and what of."""

    person_id: str
    audience: Audience
    kind: Kind


@dataclass(frozen=True, slots=True)
class TicketParties:
    """Who is on the ticket when its event is read: the requester, the assignee, the group."""

    requester_id: str
    assignee: str | None
    group: str | None


#: A group's members, by group name (the tenant's directory).
Members = Callable[[str], Sequence[str]]
#: The events that can cause a notification (others are passed over unread).
NOTIFYING = (
    Ticket.CommentAdded,
    Ticket.Assigned,
    Ticket.Transitioned,
    Ticket.SlaWarningIssued,
    Ticket.SlaBreached,
    Ticket.NotificationRequested,
)
_STAFF = frozenset({ActorKind.AGENT.value, ActorKind.API_CLIENT.value})


def recipients(event: Any, parties: TicketParties, members: Members) -> list[Recipient]:
    """The notifications `event` causes, at most one per person, never to the person who acted."""
    found = [r for r in _told(event, parties, members) if r.person_id != event.actor_id]
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient.person_id, recipient)
    return list(unique.values())


def _told(event: Any, parties: TicketParties, members: Members) -> list[Recipient]:  # noqa: PLR0911  # one per kind
    if isinstance(event, Ticket.CommentAdded):
        return _commented(event, parties)
    if isinstance(event, Ticket.Assigned):
        changed = event.assignee is not None and event.assignee != event.old_assignee
        return [Recipient(event.assignee, Audience.AGENT, Kind.ASSIGNED)] if changed and event.assignee else []
    if isinstance(event, Ticket.Transitioned):
        solved = Status.SOLVED.value
        if event.new_category == solved and event.old_category != solved:
            return [Recipient(parties.requester_id, Audience.REQUESTER, Kind.SOLVED)]
        return []
    if isinstance(event, Ticket.SlaAlerted):
        kind = Kind.SLA_BREACH if isinstance(event, Ticket.SlaBreached) else Kind.SLA_WARNING
        return _staff(parties, members, kind)
    if isinstance(event, Ticket.NotificationRequested):
        return _requested(event, parties, members)
    return []


def _commented(event: Ticket.CommentAdded, parties: TicketParties) -> list[Recipient]:
    if not event.public:  # an internal note: the agents it mentions, never the requester
        return [Recipient(agent, Audience.AGENT, Kind.MENTIONED) for agent in event.mentions]
    if event.actor_kind in _STAFF:
        return [Recipient(parties.requester_id, Audience.REQUESTER, Kind.PUBLIC_REPLY)]
    return []


def _staff(parties: TicketParties, members: Members, kind: Kind) -> list[Recipient]:
    agents = list(members(parties.group)) if parties.group else []
    if not agents and parties.assignee:
        agents = [parties.assignee]
    return [Recipient(agent, Audience.AGENT, kind) for agent in agents]


def _requested(event: Ticket.NotificationRequested, parties: TicketParties, members: Members) -> list[Recipient]:
    kind = Kind(event.template)
    if event.to == "requester":
        return [Recipient(parties.requester_id, Audience.REQUESTER, kind)]
    if event.to == "assignee":
        return [Recipient(parties.assignee, Audience.AGENT, kind)] if parties.assignee else []
    if event.to == "group":
        return [Recipient(agent, Audience.AGENT, kind) for agent in (members(parties.group) if parties.group else [])]
    return [Recipient(event.to, Audience.AGENT, kind)]
