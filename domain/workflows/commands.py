"""Workflow commands: publish a version, read the tenant's workflows, move open tickets to a newer version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Unpack
from uuid import UUID

from domain.errors import DomainError, InvalidValueError, NotFoundError
from domain.pipeline import Acting, CommandPipeline, ConfigReceipt
from domain.races import retried
from domain.tickets.workflow import Status
from domain.workflows.catalogue import DEFAULT, Version, WorkflowCatalogue
from domain.workflows.lifecycle import standard


@dataclass(frozen=True, slots=True)
class Migrated:
    """What a migration did to one ticket: moved (with the log position), or why not."""

    ticket_id: UUID
    position: int | None = None
    error: DomainError | None = None


class WorkflowCommands(CommandPipeline):
    """The commands and queries of workflows."""

    @property
    def standard_workflow(self) -> Version:
        """Version 1 of `default` in every tenant: the lifecycle this desk was built with."""
        return Version(DEFAULT, 1, standard(self.standard_moves))

    @retried
    def publish_workflow(
        self, *, tenant: str, name: str, definition: Mapping[str, Any], **how: Unpack[Acting]
    ) -> ConfigReceipt:
        """Publish a new version of a workflow (one identical to the latest records nothing)."""
        with self._acting(tenant=tenant, **how):
            catalogue = self._workflow_catalogue(tenant) or WorkflowCatalogue.start(tenant=tenant)
            published = catalogue.publish(name, definition)
        recordings = self.save(catalogue)
        position = recordings[-1].notification.id if recordings else None
        return ConfigReceipt(name=published.name, version=published.version, position=position)

    def workflows(self, tenant: str) -> list[Version]:
        """The latest version of each of the tenant's workflows, `default` first."""
        catalogue = self._workflow_catalogue(tenant)
        published = [] if catalogue is None else [catalogue.latest(n) for n in catalogue.names()]
        found = {v.name: v for v in published if v is not None}
        return [found.get(DEFAULT, self.standard_workflow), *(v for n, v in sorted(found.items()) if n != DEFAULT)]

    def workflow(self, tenant: str, name: str, version: int | None = None) -> Version:
        """One version of a workflow of the tenant (the latest if `version` is None), or NotFoundError."""
        catalogue = self._workflow_catalogue(tenant)
        if version is None:
            found = None if catalogue is None else catalogue.latest(name)
            found = found or (self.standard_workflow if name == DEFAULT else None)
        elif (name, version) == (DEFAULT, 1):
            found = self.standard_workflow
        else:
            found = None if catalogue is None else catalogue.version_of(name, version)
        if found is None:
            at = "" if version is None else f" at version {version}"
            raise NotFoundError(f"no workflow {name!r}{at}")
        return found

    def workflow_versions(self, tenant: str, name: str) -> list[Version]:
        """Every version of a workflow, oldest first."""
        latest = self.workflow(tenant, name)
        first = 1
        return [self.workflow(tenant, name, v) for v in range(first, latest.version + 1)]

    def workflow_for_type(self, tenant: str, ticket_type: str | None) -> Version:
        """The workflow a new ticket of this type runs under."""
        catalogue = self._workflow_catalogue(tenant)
        serving = None if catalogue is None else catalogue.serving(ticket_type)
        return serving or self.standard_workflow

    def migrate_tickets(
        self,
        *,
        tenant: str,
        name: str,
        from_version: int,
        to_version: int | None = None,
        mapping: Mapping[str, str],
        ticket_ids: Iterable[UUID],
        **how: Unpack[Acting],
    ) -> list[Migrated]:
        """Move these tickets from one version of a workflow to another (default: the latest), as `mapping` says.

        Refused as a whole (InvalidValueError, nothing stored) when the mapping is incomplete: every
        state of the old version that is not closed must map to a state of the new one, unless the
        new one has a state of the same name. Each ticket is its own command: one that has moved on
        meanwhile (closed, another version) is reported and the others still move.
        """
        old = self.workflow(tenant, name, from_version)
        new = self.workflow(tenant, name, to_version)
        full = check_mapping(old, new, mapping)
        results: list[Migrated] = []
        for ticket_id in ticket_ids:
            try:
                receipt = self._on_ticket(ticket_id, lambda t: _migrate(t, old, new, full), tenant=tenant, **how)
            except DomainError as error:
                results.append(Migrated(ticket_id, error=error))
                continue
            results.append(Migrated(ticket_id, position=receipt.position))
        return results

    def _workflow_catalogue(self, tenant: str) -> WorkflowCatalogue | None:
        return self._configured(WorkflowCatalogue, WorkflowCatalogue.create_id(tenant))


def check_mapping(old: Version, new: Version, mapping: Mapping[str, str]) -> dict[str, str]:
    """The state mapping from `old` to `new`, completed with same-named states; InvalidValueError if incomplete."""
    if new.version <= old.version:
        msg = f"tickets move to a later version: {new.version} is not after {old.version}"
        raise InvalidValueError(msg)
    unknown = sorted(s for s in mapping if s not in old.lifecycle.states)
    if unknown:
        msg = f"the mapping names {', '.join(unknown)}, not states of version {old.version}"
        raise InvalidValueError(msg)
    wrong = sorted(t for t in mapping.values() if t not in new.lifecycle.states)
    if wrong:
        msg = f"the mapping maps to {', '.join(wrong)}, not states of version {new.version}"
        raise InvalidValueError(msg)
    full = dict(mapping)
    missing = []
    for state, category in old.lifecycle.states.items():
        if state in full or category is Status.CLOSED:
            continue
        if state in new.lifecycle.states:
            full[state] = state
        else:
            missing.append(state)
    if missing:
        msg = f"the mapping is incomplete: version {new.version} has no state {', '.join(missing)}; map each to one"
        raise InvalidValueError(msg)
    return full


def _migrate(ticket: Any, old: Version, new: Version, mapping: Mapping[str, str]) -> None:
    if ticket.workflow != old.name or ticket.workflow_version != old.version:
        msg = f"the ticket runs under {ticket.workflow} version {ticket.workflow_version}, not version {old.version}"
        raise InvalidValueError(msg)
    ticket.migrate(new, mapping)
