"""Who acted and through which channel: recorded on every event."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidValueError

#: Agents, groups, requesters, organisations, tenants (also the OpenAPI's pattern for them).
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,127}$"
#: Channels such as web or email (also the OpenAPI's pattern for them).
CHANNEL_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_CHANNEL = re.compile(CHANNEL_PATTERN)

#: Channels every help desk knows; others may be configured, so any slug is accepted.
KNOWN_CHANNELS = ("web", "email", "phone", "api", "chat", "wechat", "system")


class ActorKind(StrEnum):
    """What sort of party carried out a command."""

    AGENT = "agent"
    REQUESTER = "requester"
    API_CLIENT = "api_client"
    SYSTEM = "system"


def identifier(value: str, what: str) -> str:
    """Return `value` if it is a usable identifier (agent, group, requester, …), else raise."""
    if not _IDENTIFIER.fullmatch(value):
        msg = f"{what} must be 1-128 characters of letters, digits and . _ @ + : - (got {value!r})"
        raise InvalidValueError(msg)
    return value


def channel(value: str) -> str:
    """Return `value` if it is a channel slug such as 'web' or 'email', else raise."""
    if not _CHANNEL.fullmatch(value):
        msg = f"channel must be a lowercase slug such as 'web' or 'email' (got {value!r})"
        raise InvalidValueError(msg)
    return value


@dataclass(frozen=True, slots=True)
class Actor:
    """A party that carries out commands: an agent, a requester, an API client or a system process."""

    id: str
    kind: ActorKind
    role: str | None = None  # the caller's role (agent, supervisor, ...), recorded for auditors
    organisation: str | None = None  # a requester's organisation, whose tickets it may read (if set)
    groups: frozenset[str] | None = None  # an agent limited to these groups (None: every group)

    def __post_init__(self) -> None:
        identifier(self.id, "actor id")
        if self.organisation is not None:
            identifier(self.organisation, "organisation")
        for group in self.groups or ():
            identifier(group, "group")

    def may_see_group(self, group: str | None) -> bool:
        """Whether a ticket in `group` is within this actor's reach (unrouted tickets are everyone's)."""
        return self.groups is None or group is None or group in self.groups
