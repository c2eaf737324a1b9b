"""Which tickets an SLA policy covers: the ticket's facts a policy matches on, and a policy's conditions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain import values
from domain.actors import identifier
from domain.sla.stored_form import ensure_collection, parse_with, string_list
from domain.values import Priority


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFacts:
    """The ticket attributes a policy matches on."""

    priority: Priority = Priority.NORMAL
    group: str | None = None
    ticket_type: str | None = None
    organisation: str | None = None
    tags: frozenset[str] = frozenset()
    requester: str | None = None
    #: The requester's tier (their customer profile's) as the log stands at the event; None without one.
    customer_tier: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", values.priority(self.priority))
        object.__setattr__(self, "tags", _slugs(self.tags, "tag"))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        return {
            "priority": self.priority.value,
            "group": self.group,
            "ticket_type": self.ticket_type,
            "organisation": self.organisation,
            "tags": sorted(self.tags),
            "requester": self.requester,
            "customer_tier": self.customer_tier,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketFacts:
        """Rebuild from `as_dict` values, or raise InvalidValueError (facts stored before tiers had no requester)."""
        return parse_with(
            "ticket facts",
            lambda: cls(
                priority=data["priority"],
                group=data["group"],
                ticket_type=data["ticket_type"],
                organisation=data["organisation"],
                tags=frozenset(string_list(data["tags"], "tags")),
                requester=data.get("requester"),
                customer_tier=data.get("customer_tier"),
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConditions:
    """Which tickets a policy applies to. An empty set allows any value.

    A ticket matches when its priority, group, type, organisation and requester's customer tier
    are each in the corresponding set (a ticket without a group, type, organisation or tier
    matches only where that set is empty), and it carries at least one of the listed tags (any
    of them, not all).
    """

    priorities: frozenset[Priority] = frozenset()
    groups: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    customer_tiers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        ensure_collection(self.priorities, "priorities")
        object.__setattr__(self, "priorities", frozenset(values.priority(p) for p in self.priorities))
        object.__setattr__(self, "groups", _identifiers(self.groups, "group"))
        object.__setattr__(self, "types", _slugs(self.types, "type"))
        object.__setattr__(self, "organisations", _identifiers(self.organisations, "organisation"))
        object.__setattr__(self, "tags", _slugs(self.tags, "tag"))
        object.__setattr__(self, "customer_tiers", _slugs(self.customer_tiers, "customer tier"))

    def matches(self, facts: TicketFacts) -> bool:
        """Whether a ticket with these facts falls under the policy."""
        return (
            _allows(self.priorities, facts.priority)
            and _allows(self.groups, facts.group)
            and _allows(self.types, facts.ticket_type)
            and _allows(self.organisations, facts.organisation)
            and (not self.tags or not self.tags.isdisjoint(facts.tags))
            and _allows(self.customer_tiers, facts.customer_tier)
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (sorted lists)."""
        return {
            "priorities": sorted(p.value for p in self.priorities),
            "groups": sorted(self.groups),
            "types": sorted(self.types),
            "organisations": sorted(self.organisations),
            "tags": sorted(self.tags),
            "customer_tiers": sorted(self.customer_tiers),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyConditions:
        """Rebuild from `as_dict` values (missing lists allow any value), or raise InvalidValueError."""

        def listed(name: str) -> frozenset[str]:
            return frozenset(string_list(data.get(name, []), name))

        return parse_with(
            "policy conditions",
            lambda: cls(
                priorities=frozenset(values.priority(p) for p in listed("priorities")),
                groups=listed("groups"),
                types=listed("types"),
                organisations=listed("organisations"),
                tags=listed("tags"),
                customer_tiers=listed("customer_tiers"),
            ),
        )


def _identifiers(items: Iterable[str], what: str) -> frozenset[str]:
    ensure_collection(items, f"{what}s")
    return frozenset(identifier(item, what) for item in items)


def _slugs(items: Iterable[str], what: str) -> frozenset[str]:
    ensure_collection(items, f"{what}s")
    return frozenset(values.slug(item, what) for item in items)


def _allows(allowed: frozenset[Any], value: object) -> bool:
    return not allowed or value in allowed
