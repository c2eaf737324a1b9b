"""What an export leaves out: every personal value (docs/privacy.md), as the service reports do.

An export is a copy that leaves the desk, where no erasure can reach it. So it carries the facts
and the ids (pseudonyms: requester, actor, assignee, organisation, group) and none of the values
the event store keeps encrypted with a person's key: titles, descriptions, names, e-mail addresses,
comment bodies, attachment names, rating comments, merge reasons, mail bodies, saved-view filters
and personal custom fields. Each reads as null. Those values are never decrypted for an export,
except a comment's body to measure its length (the length only is written; null once erased).
"""

from __future__ import annotations

from typing import Any

from infrastructure.privacy.mapper import NOT_OPENED

#: Event fields whose values are a person's (docs/privacy.md), wherever they appear in an event.
PERSONAL_NAMES = frozenset(
    {
        "title",
        "description",
        "requester_name",
        "requester_email",
        "body",
        "name",  # an attachment's file name
        "comment",
        "old_title",
        "new_title",
        "old_description",
        "new_description",
        "reason",
        "html",
        "email",
        "filters",
    }
)


def without_personal(value: Any) -> Any:
    """`value` (an event's fields, nested) with every personal value null."""
    if isinstance(value, dict):
        if "owner" in value and "value" in value:  # a personal custom field: its value is its owner's
            return {**value, "value": None}
        return {k: None if k in PERSONAL_NAMES else without_personal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_personal(v) for v in value]
    return None if value == NOT_OPENED else value


def impersonal_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A ticket's custom fields without the values of personal ones (those that name an owner)."""
    return {name: {**field, "value": None} if field.get("owner") else field for name, field in fields.items()}
