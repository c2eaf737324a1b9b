"""A tenant's workflows, every version of each, in one catalogue (its id follows from the tenant).

Publishing a workflow records a new version of it; no version is ever changed, so a ticket
that runs under version 2 keeps running under it until a recorded migration moves it. Each
tenant has the standard workflow `default` as version 1 without publishing it (`STANDARD`):
tickets opened before workflows existed run under it, and a tenant's own `default` starts at
version 2. A ticket type is served by one workflow at most; a new ticket runs under the latest
version of the workflow serving its type, or else of `default`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned
from domain.workflows.lifecycle import STANDARD, Lifecycle

_CATALOGUES = uuid.UUID("5b0c7d2e-91a4-4f3b-8c6d-2e7f1a9b3c40")
DEFAULT = "default"
WORKFLOWS_MAX = 100


@dataclass(frozen=True, slots=True)
class Version:
    """One published version of a workflow."""

    name: str
    version: int
    lifecycle: Lifecycle


#: The standard workflow, version 1 of `default` in every tenant (a desk may be built with another).
STANDARD_VERSION = Version(DEFAULT, 1, STANDARD)


class WorkflowCatalogue(TenantOwned):
    """Every version of every workflow a tenant published."""

    class Event(TenantOwned.Event):
        """Base of catalogue events: whose catalogue, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first workflow is about to be published."""

    class WorkflowPublished(Event):
        name: str
        version: int  # the workflow's version this event makes
        definition: dict[str, Any]

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's catalogue."""
        return uuid.uuid5(_CATALOGUES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> WorkflowCatalogue:
        """A new catalogue for the tenant, holding only the standard workflow."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(
        self,
        *,
        tenant: str,
    ) -> None:
        self.tenant = tenant
        self.published: dict[str, list[dict[str, Any]]] = {}  # name -> definitions, version 1 (or 2) first

    def publish(self, name: str, definition: Mapping[str, Any]) -> Version:
        """Publish a new version of a workflow; one identical to the latest records nothing."""
        checked_name = values.slug(name, "workflow name")
        lifecycle = Lifecycle.from_dict(definition)
        current = self.latest(checked_name)
        if current is not None and current.lifecycle == lifecycle:
            return current
        self._check_types(checked_name, lifecycle)
        if current is None and len(self.published) >= WORKFLOWS_MAX:
            msg = f"a tenant may define at most {WORKFLOWS_MAX} workflows"
            raise InvalidValueError(msg)
        version = _first(checked_name) if current is None else current.version + 1
        self._published(name=checked_name, version=version, definition=lifecycle.as_dict())
        return Version(checked_name, version, lifecycle)

    @event(WorkflowPublished)
    def _published(
        self,
        *,
        name: str,
        version: int,
        definition: dict[str, Any],
    ) -> None:
        self.published.setdefault(name, []).append(definition)

    # --- reading: published versions only (version 1 of `default` is the desk's standard workflow) ---------

    def names(self) -> list[str]:
        """The tenant's published workflows, by name."""
        return sorted(self.published)

    def latest(self, name: str) -> Version | None:
        """The latest published version of a workflow (None: never published)."""
        definitions = self.published.get(name)
        if not definitions:
            return None
        return self.version_of(name, _first(name) - 1 + len(definitions))

    def version_of(self, name: str, version: int) -> Version | None:
        """One published version of a workflow (None: there is no such version)."""
        definitions = self.published.get(name, [])
        index = version - _first(name)
        if not 0 <= index < len(definitions):
            return None
        return Version(name, version, Lifecycle.from_dict(definitions[index]))

    def serving(self, ticket_type: str | None) -> Version | None:
        """The latest version of the workflow serving this ticket type, else of a published `default`."""
        if ticket_type is not None:
            for name in self.published:
                latest = self.latest(name)
                if latest is not None and ticket_type in latest.lifecycle.ticket_types:
                    return latest
        return self.latest(DEFAULT)

    def _check_types(self, name: str, lifecycle: Lifecycle) -> None:
        for other in self.published:
            if other == name:
                continue
            latest = self.latest(other)
            taken = lifecycle.ticket_types & (frozenset() if latest is None else latest.lifecycle.ticket_types)
            if taken:
                msg = f"the ticket type(s) {', '.join(sorted(taken))} are served by the workflow {other!r} already"
                raise InvalidValueError(msg)


def _first(name: str) -> int:
    """The first published version of a workflow: 2 for `default`, whose version 1 is the standard workflow."""
    return 2 if name == DEFAULT else 1
