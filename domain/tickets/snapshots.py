"""A ticket's state in the plain values a snapshot stores, and back.

The stock transcoder stores plain values only, so a snapshot holds enums as their values and
value objects as dicts. Snapshots taken before a field existed are read with its default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.actors import ActorKind
from domain.tickets.comments import Comment
from domain.tickets.links import Link
from domain.tickets.workflow import Status
from domain.values import FieldValue, Priority


def plain_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A ticket's state (its `__dict__`) in plain values."""
    plain = dict(state)
    plain["category"] = plain["category"].value
    plain["priority"] = plain["priority"].value
    plain["custom_fields"] = {k: v.as_dict() for k, v in plain["custom_fields"].items()}
    plain["comments"] = [c.as_dict() for c in plain["comments"]]
    plain["tags"] = list(plain["tags"])
    plain["links"] = [k.as_dict() for k in plain["links"]]
    return plain


def restored_state(plain: Mapping[str, Any]) -> dict[str, Any]:
    """A ticket's state from the plain values of `plain_state`, or of a snapshot taken by older code."""
    state = dict(plain)
    # Snapshots taken before workflows could be defined hold the standard workflow's state only.
    state.setdefault("category", state["status"])
    state.setdefault("workflow", "default")
    state.setdefault("workflow_version", 1)
    state["category"] = Status(state["category"])
    state["priority"] = Priority(state["priority"])
    state["custom_fields"] = {k: FieldValue.from_dict(v) for k, v in state["custom_fields"].items()}
    state["comments"] = [Comment.from_dict(c) for c in state["comments"]]
    state.setdefault("satisfaction", None)  # snapshots taken before ratings existed
    state.setdefault("requester_name", None)  # ... and before names and addresses were recorded
    state.setdefault("requester_email", None)
    state["links"] = [Link.from_dict(k) for k in state.get("links", [])]  # ... and before links existed
    state.setdefault("children_solved", [])
    state.setdefault("linked_articles", [])  # ... and before articles could be linked
    state.setdefault("triggers_through", 0)  # ... and before triggers
    state.setdefault("automations_fired", [])

    state.setdefault("merged_into", None)  # ... and before merges
    state.setdefault("merged_sources", [])
    state.setdefault("suggestions", [])  # ... and before suggestions
    state.setdefault("location", None)  # ... and before field service
    state.setdefault("dispatch", None)
    state.setdefault("visits", [])
    state.setdefault("sla_alerts", [])  # ... and before SLA warnings and breaches were recorded
    if "last_contact_customer_at" not in state:  # ... and before the last contacts were kept
        state.update(last_contacts(state["comments"], opened_by_requester_at=_opened_by_requester_at(state)))
    return state


def last_contacts(comments: Iterable[Comment], *, opened_by_requester_at: datetime | None) -> dict[str, Any]:
    """The latest public message of the requester and of an agent, as a ticket's comments show them.

    Copies a merge brought in do not count: they were written on another ticket.
    """
    customer, agent = opened_by_requester_at, None
    for comment in comments:
        if not comment.public or comment.origin is not None:
            continue
        if comment.author_kind == ActorKind.REQUESTER.value:
            customer = comment.at
        elif comment.author_kind == ActorKind.AGENT.value:
            agent = comment.at
    return {"last_contact_customer_at": customer, "last_contact_agent_at": agent}


def _opened_by_requester_at(state: Mapping[str, Any]) -> datetime | None:
    # Older snapshots did not keep who opened the ticket by kind; the requester opening it names itself.
    return state.get("_created_on") if state.get("opened_by") == state.get("requester_id") else None
