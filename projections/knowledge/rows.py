"""An article as the knowledge read model holds it (`kb_articles`), and what a batch changed of the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

#: The editions of an article that search indexes: the latest revision (staff search it) and the
#: published one, indexed only while the article is published and public (customers search it).
CURRENT = "current"
PUBLIC = "public"


@dataclass
class ArticleRow:
    """One article: its latest revision's content, the published content if any, and when."""

    article_id: UUID
    tenant: str
    status: str
    revision: int
    title: str
    body: str
    language: str
    visibility: str
    categories: list[str]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    published_revision: int | None = None
    published: dict[str, Any] | None = None  # the published revision's content, while the article is published
    published_at: datetime | None = None
    deflections: int = 0  # requests it answered before they were made

    @property
    def content(self) -> dict[str, Any]:
        """The latest revision's content."""
        return {
            "title": self.title,
            "body": self.body,
            "language": self.language,
            "visibility": self.visibility,
            "categories": list(self.categories),
            "tags": list(self.tags),
        }

    @property
    def is_public(self) -> bool:
        """Whether customers read it: published, and its published content public."""
        return self.published is not None and self.published["visibility"] == "public"


@dataclass
class KnowledgeChanges:
    """The articles a batch touched (whole rows), and readers' latest votes (the latest of the batch wins)."""

    articles: dict[UUID, ArticleRow] = field(default_factory=dict)
    votes: dict[tuple[UUID, str], tuple[str, bool]] = field(default_factory=dict)  # (article, voter) -> tenant, vote
    erased: set[tuple[str, str]] = field(default_factory=set)  # (tenant, person) whose votes go
