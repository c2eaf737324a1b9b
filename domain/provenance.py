"""Provenance: who carried out a command, as which role, through which channel, when, why, and in which tenant.

Every event records it, and it comes from one place: the command context the command pipeline
opens around a command (`acting`). An aggregate derived from `Recorded` adds the context's
fields to each event it triggers, so no command or `@event` method passes them by hand.

The context also names the tenant the command acts in (the ticket's, or the one a command that
creates something names), for automated actors and aggregates to read. Every aggregate belongs
to one tenant; an event that declares `tenant` records the aggregate's own, and a context that
names another is a programming error (a command never changes another tenant's records).

Two ids tie events together beyond one command:

* `correlation_id`: shared by everything one request or one automated run caused (the API takes
  it from the `Ledgerdesk-Correlation-Id` header or makes one per request);
* `causation_id`: what directly caused the command, when something did: an event (written
  `<aggregate id>@<version>`) that an automated actor reacted to, such as the SLA breach an
  escalation follows. A person's command has none.

Both are None in events recorded before they were (those events are upcast: `no_cause`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor, channel
from domain.errors import InvalidValueError

#: The longest correlation or causation id (a UUID is 36 characters; a caller's own ids may be longer).
CAUSE_ID_MAX = 128


class EventFields(TypedDict):
    """The provenance fields every event records."""

    actor_id: str
    actor_kind: str
    actor_role: str | None
    via: str
    timestamp: datetime
    correlation_id: str | None
    causation_id: str | None


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who carries out a command, through which channel, when (read from the injected clock), why, and where.

    `tenant` is the tenant the command acts in: the ticket's for a command on a ticket, the one
    named for a command that creates something; None for code outside the pipeline (tools, tests).
    """

    actor: Actor
    via: str
    at: datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        channel(self.via)
        if self.at.tzinfo is None:
            msg = "command moments must be timezone-aware"
            raise InvalidValueError(msg)
        for name in ("correlation_id", "causation_id"):
            value = getattr(self, name)
            if value is not None and not (0 < len(value) <= CAUSE_ID_MAX and value.isprintable()):
                msg = f"{name} must be 1-{CAUSE_ID_MAX} printable characters (got {value!r})"
                raise InvalidValueError(msg)

    def event_fields(self) -> EventFields:
        """The provenance every event records, as keyword arguments for the event."""
        return EventFields(
            actor_id=self.actor.id,
            actor_kind=self.actor.kind.value,
            actor_role=self.actor.role,
            via=self.via,
            timestamp=self.at,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


def event_cause(aggregate_id: UUID, version: int) -> str:
    """How a causation id names one event: `<aggregate id>@<version>`."""
    return f"{aggregate_id}@{version}"


@dataclass(frozen=True, slots=True)
class Cause:
    """The correlation and causation ids that the commands of a request or an automated run carry."""

    correlation_id: str | None = None
    causation_id: str | None = None


NO_CAUSE = Cause()
_CAUSE: ContextVar[Cause | None] = ContextVar("ledgerdesk_cause", default=None)


@contextmanager
def caused_by(correlation_id: str | None, causation_id: str | None = None) -> Iterator[Cause]:
    """Let the commands inside the block carry these ids (the API opens one per request)."""
    cause = Cause(correlation_id, causation_id)
    token = _CAUSE.set(cause)
    try:
        yield cause
    finally:
        _CAUSE.reset(token)


def current_cause() -> Cause:
    """The ids the commands carried out now carry (both None outside `caused_by`)."""
    return _CAUSE.get() or NO_CAUSE


_CURRENT: ContextVar[CommandContext | None] = ContextVar("ledgerdesk_command_context", default=None)


@contextmanager
def acting(context: CommandContext) -> Iterator[CommandContext]:
    """Carry out the commands inside the block in `context` (what their events record)."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


def current() -> CommandContext:
    """The context of the command being carried out; a command outside `acting` is a programming error."""
    context = _CURRENT.get()
    if context is None:
        msg = "a command was carried out outside a command context (domain.provenance.acting)"
        raise RuntimeError(msg)
    return context


def no_cause(state: dict[str, Any]) -> None:
    """Upcast an event recorded before correlation and causation ids were: it names neither."""
    state.setdefault("correlation_id", None)
    state.setdefault("causation_id", None)


#: The default of an `@event` method's provenance parameter that the method's state needs (a
#: comment's author, a ticket's channel): `Recorded` sets the real value from the command
#: context when the command runs, and a replay passes the one the event recorded.
FROM_CONTEXT: Any = None


class Recorded(Aggregate):
    """An aggregate of one tenant whose every event records the current command's provenance."""

    if TYPE_CHECKING:
        tenant: str  # set by the aggregate's first event, which names it

    class Event(Aggregate.Event):
        """Base of every event: the provenance fields (`EventFields`), set from the command context."""

        actor_id: str
        actor_kind: str
        actor_role: str | None  # None in events recorded before roles were
        via: str
        correlation_id: str | None  # None in events recorded before these ids were
        causation_id: str | None

    class Created(Event, Aggregate.Created):
        """Base of every aggregate's first event, with the provenance fields."""

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """Trigger `event_class` with the command context's fields (never a method's own) and the aggregate's tenant."""
        tenant = _tenant_for(event_class, self.tenant)
        super().trigger_event(event_class, **{**kwargs, **tenant, **_provenance_for(event_class)})

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002  # eventsourcing's name
        """Create the aggregate with its first event, carrying the command context's fields, in the command's tenant."""
        if "tenant" in kwargs:
            _in_acting_tenant(kwargs["tenant"])
        return super()._create(event_class, id=id, **{**kwargs, **_provenance_for(event_class)})


class TenantOwned(Recorded):
    """An aggregate whose every event names its tenant: API keys, erased people, field catalogues, calendars, policies.

    A ticket is not one: it names its tenant in `Opened` and in the events whose personal data a data key
    of the tenant's key store encrypts (comments, ratings, custom fields).
    """

    class Event(Recorded.Event):
        """Base of the aggregate's events: whose it is, who changed it, and how."""

        tenant: str

        # Version 2 added correlation_id and causation_id; older events name neither.
        class_version = 2
        upcast_v1_v2 = staticmethod(no_cause)


def _in_acting_tenant(tenant: str) -> str:
    """`tenant`, the tenant of the aggregate an event happens to, once checked against the command's."""
    acting_in = current().tenant
    if acting_in is not None and acting_in != tenant:
        msg = f"a command acting in tenant {acting_in!r} would change a record of tenant {tenant!r}"
        raise RuntimeError(msg)
    return tenant


def _tenant_for(event_class: type, tenant: str) -> dict[str, str]:
    return {"tenant": _in_acting_tenant(tenant)} if "tenant" in _declared_fields(event_class) else {}


def _provenance_for(event_class: type) -> dict[str, Any]:
    declared = _declared_fields(event_class)
    return {name: value for name, value in current().event_fields().items() if name in declared}


@cache
def _declared_fields(event_class: type) -> frozenset[str]:
    # Only the fields the event declares: an older event class may not record every one. Asked on
    # every event a command triggers, so read from the class once.
    return frozenset(field.name for field in fields(event_class))
