"""What an article says: its title, Markdown body, language, visibility, categories and tags, checked once.

A revision is one whole version of that content. Every edit records a new one, so any version
an article ever had can be shown again (`Article.revision`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import values
from domain.errors import InvalidValueError

#: The languages articles are written in (BCP 47 tags, as the web pages name them).
LANGUAGES = ("en", "zh-CN")
CATEGORIES_MAX = 10
CATEGORY_MAX = 64


class Visibility(StrEnum):
    """Who may read an article once published: agents only, or the tenant's customers too."""

    INTERNAL = "internal"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Content:
    """The whole of what one revision of an article says."""

    title: str
    body: str  # Markdown
    language: str
    visibility: str
    categories: list[str]
    tags: list[str]

    def as_fields(self) -> dict[str, Any]:
        """The content as event fields."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Revision:
    """One version of an article's content: its number (1, 2, ...), who wrote it and when."""

    number: int
    content: Content
    written_by: str
    written_at: datetime


def content(
    *,
    title: str,
    body: str,
    language: str,
    visibility: str,
    categories: Iterable[str],
    tags: Iterable[str],
) -> Content:
    """Checked content, or InvalidValueError naming what is wrong."""
    return Content(
        title=values.title(title),
        body=values.text(body, "body"),
        language=_language(language),
        visibility=values.choice(Visibility, visibility, "visibility").value,
        categories=_categories(categories),
        tags=values.tags(tags),
    )


def _language(value: str) -> str:
    if value not in LANGUAGES:
        msg = f"language must be one of {', '.join(LANGUAGES)} (got {value!r})"
        raise InvalidValueError(msg)
    return value


def _categories(given: Iterable[str]) -> list[str]:
    """Category names as said (Chinese ones too), trimmed, without repeats, in the order given."""
    names = list(dict.fromkeys(values.text(name, "category").strip() for name in given))
    if len(names) > CATEGORIES_MAX or any(len(name) > CATEGORY_MAX for name in names):
        msg = f"an article has at most {CATEGORIES_MAX} categories of at most {CATEGORY_MAX} characters each"
        raise InvalidValueError(msg)
    return names
