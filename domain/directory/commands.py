"""Directory commands: define groups and agents; check an assignment against the directory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Unpack

from domain.access.policy import Role
from domain.directory.directory import AgentEntry, Directory, GroupEntry, PlaceKind
from domain.directory.geo import Place
from domain.errors import InvalidValueError, NotFoundError, NotPermittedError
from domain.pipeline import KEEP, Acting, CommandPipeline, Keep
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
        radius_km: float | None = None,
        speed_kmh: float | None = None,
        **how: Unpack[Acting],
    ) -> int | None:
        """Define a group or change it, dispatch settings included; the log position of its last event.

        None: nothing changed. `radius_km` and `speed_kmh` are for `nearest` routing (geo.py).
        """
        with self._acting(tenant=tenant, **how):
            directory = self.directory(tenant) or Directory.start(tenant=tenant)
            directory.define_group(name, members=members, routing=routing, skill_rules=skill_rules)
            directory.set_dispatch(name, radius_km=radius_km, speed_kmh=speed_kmh)
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
        home_base: Place | None = None,
        location: Place | Literal[Keep.KEEP] | None = KEEP,
        **how: Unpack[Acting],
    ) -> int | None:
        """Define an agent or change them, their home base and (if given) where they are now; the last position.

        None: nothing changed.
        """
        with self._acting(tenant=tenant, **how):
            directory = self.directory(tenant) or Directory.start(tenant=tenant)
            directory.define_agent(
                agent, groups=groups, skills=skills, capacity=capacity, available=available, email=email
            )
            directory.locate_agent(agent, PlaceKind.HOME, home_base)
            if location is not KEEP:
                directory.locate_agent(agent, PlaceKind.CURRENT, location)
        recordings = self.save(directory)
        return recordings[-1].notification.id if recordings else None

    @retried
    def report_location(self, *, tenant: str, agent: str, location: Place | None, **how: Unpack[Acting]) -> int | None:
        """An agent reports where they are now (None: they no longer say); an admin may for anyone."""
        by = how["by"]
        if by.id != agent and by.role != Role.ADMIN.value:
            msg = "agents report their own location; an admin may report anyone's"
            raise NotPermittedError(msg)
        directory = self.directory(tenant)
        if directory is None:
            msg = f"no agent {agent!r} in the directory (PUT /agents/{agent} defines them)"
            raise InvalidValueError(msg)
        with self._acting(tenant=tenant, **how):
            directory.locate_agent(agent, PlaceKind.CURRENT, location)
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
