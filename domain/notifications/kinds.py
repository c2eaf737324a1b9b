"""The kinds of notification: what a message tells of, and so which template it is written with."""

from __future__ import annotations

import re
from enum import StrEnum

from domain.errors import InvalidValueError


class Kind(StrEnum):
    """What a notification tells of."""

    PUBLIC_REPLY = "public_reply"  # an agent answered the requester
    SOLVED = "solved"  # the ticket was solved; the requester may rate it
    ASSIGNED = "assigned"  # the ticket was assigned to the recipient
    MENTIONED = "mentioned"  # an internal note mentioned the recipient
    SLA_WARNING = "sla_warning"  # a target of the ticket is nearly due
    SLA_BREACH = "sla_breach"  # a target of the ticket was breached
    RULE = "rule"  # a rule's `notify` action without a kind of its own


#: The languages built-in templates exist in; a tenant may add templates in any other.
BUILT_IN_LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
#: A language tag as templates are keyed by: letters and digits, parts joined by hyphens (at most 16 long).
LANGUAGE_PATTERN = r"^[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$"
_LANGUAGE_MAX = 16


def kind(value: str) -> Kind:
    """The kind named `value`, or InvalidValueError listing the kinds."""
    try:
        return Kind(value)
    except ValueError:
        msg = f"no notification kind {value!r}; one of {', '.join(k.value for k in Kind)}"
        raise InvalidValueError(msg) from None


def language(value: str) -> str:
    """A language tag as templates are keyed by (`en`, `zh`, `pt-br`), lower case, or InvalidValueError."""
    tag = value.lower().replace("_", "-")
    if len(tag) > _LANGUAGE_MAX or re.fullmatch(LANGUAGE_PATTERN, tag) is None:
        msg = f"{value!r} is not a language tag (such as en, zh, pt-br)"
        raise InvalidValueError(msg)
    return tag
