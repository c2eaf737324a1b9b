"""The bodies of the knowledge base: articles, their versions, searches, votes and the ratings report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from api.article_html import article_html
from api.plain_text import NonBlankText, Slug
from api.read_schemas import ReadQuery
from api.schemas import StrictBody
from domain.knowledge.article import Article
from domain.knowledge.content import CATEGORIES_MAX, CATEGORY_MAX, Revision
from domain.values import TAGS_MAX, TEXT_MAX, TITLE_MAX
from projections.knowledge.queries import ArticleRating, ArticleSummary

Language = Literal["en", "zh-CN"]  # domain.knowledge.content.LANGUAGES
VisibilityName = Literal["internal", "public"]
StatusName = Literal["draft", "published", "unpublished", "archived"]


class ArticleCreate(StrictBody):
    """A new article: its first version, unpublished until a supervisor or admin publishes it."""

    title: NonBlankText = Field(min_length=1, max_length=TITLE_MAX, examples=["打印机无法连接网络"])
    body: NonBlankText = Field(
        min_length=1, max_length=TEXT_MAX, description="Markdown (CommonMark; raw HTML is shown as text)."
    )
    language: Language = Field(description="The article's language: en or zh-CN.")
    visibility: VisibilityName = Field(
        default="internal", description="internal: staff only; public: the tenant's customers too, once published."
    )
    categories: list[NonBlankText] = Field(
        default_factory=list, max_length=CATEGORIES_MAX, description=f"Names of at most {CATEGORY_MAX} characters."
    )
    tags: list[Slug] = Field(default_factory=list, max_length=TAGS_MAX)


class ArticleUpdate(StrictBody):
    """What changes of an article: each given field; a new version of its whole content is recorded."""

    title: NonBlankText | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: NonBlankText | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    language: Language | None = None
    visibility: VisibilityName | None = None
    categories: list[NonBlankText] | None = Field(default=None, max_length=CATEGORIES_MAX)
    tags: list[Slug] | None = Field(default=None, max_length=TAGS_MAX)


class VoteCreate(StrictBody):
    """Whether the article helped the caller (their latest answer counts)."""

    helpful: StrictBool


class ArticleVersionPublic(BaseModel):
    """One version of an article's content."""

    number: int = Field(description="The version's number: 1 for the first, then one more per edit.")
    title: str
    body: str = Field(description="Markdown, as written.")
    html: str = Field(description="The body rendered and sanitised: safe to show.")
    language: str
    visibility: str
    categories: list[str]
    tags: list[str]
    written_by: str
    written_at: datetime

    @classmethod
    def of(cls, revision: Revision) -> ArticleVersionPublic:
        """The body of one revision."""
        c = revision.content
        return cls(
            number=revision.number,
            title=c.title,
            body=c.body,
            html=article_html(c.body),
            language=c.language,
            visibility=c.visibility,
            categories=list(c.categories),
            tags=list(c.tags),
            written_by=revision.written_by,
            written_at=revision.written_at,
        )


class ArticlePublic(BaseModel):
    """An article as its reader reads it: customers the published version, staff the latest."""

    id: UUID
    status: StatusName
    version: int = Field(description="The article's record version (its ETag): If-Match it to change it safely.")
    shown: ArticleVersionPublic = Field(description="The version shown: the published one to customers.")
    latest_version: int | None = Field(description="The newest version's number (staff only).")
    published_version: int | None = Field(description="The version readers read, while published.")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    helpful: int = Field(description="Readers whose latest vote said it helped.")
    unhelpful: int = Field(description="Readers whose latest vote said it did not.")

    @classmethod
    def of(cls, article: Article, *, staff: bool) -> ArticlePublic:
        """The body of an article for a staff reader, or for a customer (who reads only a published one)."""
        published = article.published
        shown = article.latest if staff or published is None else published
        return cls(
            id=article.id,
            status=article.status.value,
            version=article.version,
            shown=ArticleVersionPublic.of(shown),
            latest_version=article.latest.number if staff else None,
            published_version=None if published is None else published.number,
            created_at=article.created_on,
            updated_at=article.modified_on,
            published_at=article.published_at if published is not None else None,
            helpful=article.helpful_votes,
            unhelpful=article.unhelpful_votes,
        )


class ArticleVersionList(BaseModel):
    """Every version of an article, oldest first."""

    items: list[ArticleVersionPublic]


class ArticleSummaryPublic(BaseModel):
    """An article in a list or among search results."""

    id: UUID
    title: str
    summary: str = Field(description="The body's first 200 characters (Markdown).")
    language: str
    visibility: str
    status: StatusName
    categories: list[str]
    tags: list[str]
    version: int = Field(description="The version shown: the published one to customers, the latest to staff.")
    updated_at: datetime
    score: float | None = Field(default=None, description="Search only: how well it matches; higher is better.")

    @classmethod
    def of(cls, found: ArticleSummary) -> ArticleSummaryPublic:
        """The body of a list or search row."""
        return cls(
            id=found.article_id,
            title=found.title,
            summary=found.summary,
            language=found.language,
            visibility=found.visibility,
            status=found.status,  # one of the statuses the domain records
            categories=found.categories,
            tags=found.tags,
            version=found.revision,
            updated_at=found.updated_at,
            score=found.score,
        )


class ArticleList(BaseModel):
    """Articles, and the log position the read model had applied."""

    items: list[ArticleSummaryPublic]
    view_position: int


class ArticleRatingPublic(BaseModel):
    """What readers said of one article."""

    id: UUID
    title: str
    status: StatusName
    helpful: int
    unhelpful: int
    helpful_share: float | None = Field(description="helpful / (helpful + unhelpful).")
    low_rated: bool = Field(description="At least `min_votes` votes, and a helpful share under `low_share`.")
    deflected: int = Field(
        description="Requests it answered before they were made: readers said so on the way to opening one, "
        "and opened none (`POST /kb/articles/{id}/deflections`)."
    )


class ArticleReport(BaseModel):
    """The articles readers rated or that answered requests: most unhelpful first; which are rated low."""

    items: list[ArticleRatingPublic]
    low_share: float
    min_votes: int
    view_position: int

    @classmethod
    def of(cls, ratings: list[ArticleRating], *, low_share: float, min_votes: int, position: int) -> ArticleReport:
        """The report of these ratings under the given thresholds."""
        items = [
            ArticleRatingPublic(
                id=r.article_id,
                title=r.title,
                status=r.status,  # one of the statuses the domain records
                helpful=r.helpful,
                unhelpful=r.unhelpful,
                helpful_share=r.helpful_share,
                low_rated=r.helpful + r.unhelpful >= min_votes and (r.helpful_share or 0.0) < low_share,
                deflected=r.deflected,
            )
            for r in ratings
        ]
        return cls(items=items, low_share=low_share, min_votes=min_votes, view_position=position)


SEARCH_MAX = 200


class ArticleListQuery(ReadQuery):
    """Which articles a list shows."""

    status: StatusName | None = Field(default=None, description="Staff: only articles of this status.")
    language: Language | None = Field(default=None, description="Only articles in this language.")
    limit: int = Field(default=100, ge=1, le=500)


class ArticleSearchQuery(ReadQuery):
    """A search of the knowledge base."""

    q: str = Field(min_length=1, max_length=SEARCH_MAX, description="What to look for.")
    language: Language | None = Field(default=None, description="Only articles in this language.")
    limit: int = Field(default=20, ge=1, le=100)


class SuggestionQuery(ReadQuery):
    """A new ticket's title, for articles that may answer it."""

    title: str = Field(min_length=1, max_length=SEARCH_MAX, description="A new ticket's title so far.")
    language: Language | None = Field(default=None, description="Only articles in this language.")
    limit: int = Field(default=5, ge=1, le=20)


class ArticleReportQuery(ReadQuery):
    """Thresholds of the ratings report."""

    low_share: float = Field(default=0.5, ge=0, le=1, description="Below this helpful share an article is low.")
    min_votes: int = Field(default=3, ge=1, le=10_000, description="Votes an article needs to be judged.")
    limit: int = Field(default=100, ge=1, le=500)
