"""Which events an endpoint receives: event types, and an optional filter on each event as the feed shows it.

Event types are the feed's (`Ticket.Opened`, `Ticket.CommentAdded`, `SavedView.Created`, ...),
`Ticket.*` for every ticket event, or `*` for every event the feed shows. The filter is a
condition tree as triggers write them (`{"all": [...]}`, `{"any": [...]}`), tested on the event
alone, so it costs no read: `type`, `via`, `actor_id`, `actor_kind` and `payload.<name>`, a field
of the event's payload (`payload.priority`, `payload.public`, `payload.to`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.automation import conditions as condition_tree
from domain.automation.conditions import CHANGE_OPS, Condition, Facts
from domain.errors import InvalidRuleError
from domain.tickets.ticket import Ticket

EVERY_EVENT = "*"
EVERY_TICKET_EVENT = "Ticket.*"
EVENT_TYPES_MAX = 100
#: The fields a filter may test besides `payload.<name>`.
FILTER_FIELDS = ("type", "via", "actor_id", "actor_kind")
_PAYLOAD = "payload."


#: Bases that are never recorded themselves: eventsourcing's `Created` (a ticket begins with `Opened`), `SlaAlerted`.
_NEVER_RECORDED = frozenset({"Created", "SlaAlerted"})


def ticket_event_types() -> tuple[str, ...]:
    """Every ticket event type the feed can show, by name (`Ticket.Opened`, ...)."""
    found = {
        f"Ticket.{name}"
        for name, kind in vars(Ticket).items()
        if isinstance(kind, type)
        and issubclass(kind, Ticket.Event)
        and kind is not Ticket.Event
        and name not in _NEVER_RECORDED
    }
    return tuple(sorted(found))


#: Every event type an endpoint may name.
EVENT_TYPES = (*ticket_event_types(), "SavedView.Created")


@dataclass(frozen=True, slots=True)
class Selection:
    """The events an endpoint receives: of these types, and for which the filter holds."""

    event_types: tuple[str, ...]
    filter: Condition | None = None

    def selects(self, event: EventFacts) -> bool:
        """Whether an event goes to the endpoint."""
        if not self.takes_type(event.type):
            return False
        return self.filter is None or self.filter.holds(event.facts())

    def takes_type(self, event_type: str) -> bool:
        """Whether the endpoint takes events of this type."""
        if EVERY_EVENT in self.event_types or event_type in self.event_types:
            return True
        return EVERY_TICKET_EVENT in self.event_types and event_type.startswith("Ticket.")


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What a filter sees of one event: its type, channel, actor and payload."""

    type: str
    via: str
    actor_id: str
    actor_kind: str
    payload: Mapping[str, Any]

    def facts(self) -> Facts:
        """The event as the conditions' facts."""
        fields = {"type": self.type, "via": self.via, "actor_id": self.actor_id, "actor_kind": self.actor_kind}
        fields.update({f"{_PAYLOAD}{name}": value for name, value in self.payload.items()})
        return Facts(fields)


def event_types(raw: Iterable[Any]) -> tuple[str, ...]:
    """The event types of an endpoint, checked and sorted, or InvalidRuleError naming the first unknown one."""
    found = list(raw)
    if not found or len(found) > EVENT_TYPES_MAX:
        raise InvalidRuleError("event_types", f"a list of 1 to {EVENT_TYPES_MAX} event types, or ['*']")
    for n, name in enumerate(found):
        if name not in {EVERY_EVENT, EVERY_TICKET_EVENT, *EVENT_TYPES}:
            said = name if isinstance(name, str) else repr(name)
            raise InvalidRuleError(
                f"event_types/{n}", f"unknown event type {said!r} (*, Ticket.*, or one of {', '.join(EVENT_TYPES)})"
            )
    return tuple(sorted(set(found)))


def event_filter(raw: Any) -> Condition | None:
    """A filter from its JSON form (None: every event of the types), or InvalidRuleError with the path at fault."""
    if raw is None:
        return None
    return condition_tree.parse(raw, "filter", fields=_filter_field)


def _filter_field(name: Any, path: str, op: str) -> str:
    if op in CHANGE_OPS:
        raise InvalidRuleError(path.removesuffix("/field") + "/op", f"a filter tests the event, not changes ({op})")
    payload_field = isinstance(name, str) and name.startswith(_PAYLOAD) and len(name) > len(_PAYLOAD)
    if not (payload_field or name in FILTER_FIELDS):
        said = name if isinstance(name, str) else repr(name)
        raise InvalidRuleError(path, f"unknown field {said!r} (one of {', '.join(FILTER_FIELDS)}, payload.<name>)")
    return str(name)
