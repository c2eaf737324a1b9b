"""The plain, JSON-safe values SLA state is stored in, and reading them back.

Moments are ISO-8601 text with their offset; anything malformed read back becomes one
InvalidValueError that says what was read (`parse_with`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from domain.errors import InvalidValueError

T = TypeVar("T")


def parse_with(what: str, build: Callable[[], T]) -> T:
    """Run `build`, turning a malformed input into one InvalidValueError that says what was read."""
    try:
        return build()
    except InvalidValueError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        msg = f"{what} is malformed: {type(error).__name__}: {error}"
        raise InvalidValueError(msg) from None


def ensure_collection(items: object, what: str) -> None:
    """Raise unless `items` is a collection of values (a string is not one)."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        msg = f"{what} must be a collection of values, not {items!r}"
        raise InvalidValueError(msg)


def string_list(items: object, what: str) -> list[str]:
    """`items` as a list, if it is a list (or tuple) of strings; else raise."""
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        msg = f"{what} must be a list of strings (got {items!r})"
        raise InvalidValueError(msg)
    return list(items)


def iso_text(moment: datetime | None) -> str | None:
    """A stored moment as ISO-8601 text (None stays None)."""
    return None if moment is None else moment.isoformat()


def parse_moment(text: object) -> datetime:
    """A stored ISO-8601 moment, in UTC; one without its offset is refused."""
    if not isinstance(text, str):
        msg = f"a moment must be an ISO-8601 string (got {text!r})"
        raise InvalidValueError(msg)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        msg = f"a stored moment must carry its UTC offset (got {text!r})"
        raise InvalidValueError(msg)
    return moment.astimezone(UTC)


def parse_optional_moment(text: object) -> datetime | None:
    """`parse_moment`, or None for None."""
    return None if text is None else parse_moment(text)
