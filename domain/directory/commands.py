"""Directory commands: define groups and agents; check an assignment against the directory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Unpack

from domain.directory.directory import AgentEntry, Directory, GroupEntry
from domain.errors import NotFoundError
from domain.pipeline import Acting, CommandPipeline
from domain.races import retried


class DirectoryCommands(CommandPipeline):
    """The commands and queries of a tenant's agents and groups."""

    @retried
    def define_group(
        self,
        *,
        tenant: str,
        name: str,
        members: Iterable[str],
        routing: str,
        skill_rules: Iterable[Mapping[str, Any]] = (),
        **how: Unpack[Acting],
    ) -> int | None:
        """Define a group or change it; the log position of its event (None: nothing changed)."""
        with self._acting(tenant=tenant, **how):
            directory = self.directory(tenant) or Directory.start(tenant=tenant)
            directory.define_group(name, members=members, routing=routing, skill_rules=skill_rules)
        recordings = self.save(directory)
        return recordings[-1].notification.id if recordings else None

    @retried
    def define_agent(
        self,
        *,
        tenant: str,
        agent: str,
        groups: Iterable[str],
        skills: Mapping[str, int],
        capacity: int,
        available: bool,
        email: str | None = None,
        **how: Unpack[Acting],
    ) -> int | None:
        """Define an agent or change them; the log position of the event (None: nothing changed)."""
        with self._acting(tenant=tenant, **how):
            directory = self.directory(tenant) or Directory.start(tenant=tenant)
            directory.define_agent(
                agent, groups=groups, skills=skills, capacity=capacity, available=available, email=email
            )
        recordings = self.save(directory)
        return recordings[-1].notification.id if recordings else None

    def directory(self, tenant: str) -> Directory | None:
        """The tenant's directory (None: it has none, and assigns freely)."""
        return self._configured(Directory, Directory.create_id(tenant))

    def directory_group(self, tenant: str, name: str) -> tuple[GroupEntry, list[str]]:
        """A group and its members, or NotFoundError."""
        directory = self.directory(tenant)
        found = None if directory is None else directory.group(name)
        if directory is None or found is None:
            raise NotFoundError(f"no group {name!r}")
        return found, directory.members_of(name)

    def directory_agent(self, tenant: str, agent: str) -> tuple[AgentEntry, list[str]]:
        """An agent and their groups, or NotFoundError."""
        directory = self.directory(tenant)
        found = None if directory is None else directory.agent(agent)
        if directory is None or found is None:
            raise NotFoundError(f"no agent {agent!r}")
        return found, directory.groups_of(agent)

    def check_assignment(self, tenant: str, assignee: str | None, group: str | None) -> None:
        """Refuse an assignment the tenant's directory does not know the agent or group of (none: any goes)."""
        if assignee is None and group is None:
            return
        directory = self.directory(tenant)
        if directory is not None:
            directory.check_assignment(assignee, group)
