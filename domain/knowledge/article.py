"""An article of a tenant's knowledge base: drafted, edited, published, unpublished, archived; rated by readers.

Every edit records the whole new content as a revision, and every revision stays: an article can
be shown as any version it had. Publishing publishes the latest revision; an edit after that is
a new revision readers do not see until it is published in turn, so customers keep reading the
published one meanwhile. Archiving retires the article for good: it is no longer published and
takes no further change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from eventsourcing.domain import event

from domain.errors import IllegalTransitionError, NotFoundError
from domain.knowledge.content import Content, Revision, Visibility
from domain.provenance import FROM_CONTEXT, Recorded, TenantOwned, current


class ArticleStatus(StrEnum):
    """Where an article stands: only a published one is read by anyone but staff."""

    DRAFT = "draft"  # never published
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"  # published once, withdrawn; may be published again
    ARCHIVED = "archived"  # retired for good


class Article(TenantOwned):
    """One help article: its revisions, which of them is published, and what readers said of it."""

    class Event(TenantOwned.Event):
        """Base of article events: whose article, who changed it, and how."""

    class Drafted(Event, Recorded.Created):
        """The first revision: the article exists, unpublished."""

        title: str
        body: str
        language: str
        visibility: str
        categories: list[str]
        tags: list[str]

    class Edited(Event):
        """A new revision: the article's whole new content."""

        revision: int
        title: str
        body: str
        language: str
        visibility: str
        categories: list[str]
        tags: list[str]

    class Published(Event):
        """Readers now read this revision (the latest when it was published)."""

        revision: int

    class Unpublished(Event):
        """No reader but staff sees the article any more."""

    class Archived(Event):
        """Retired: unpublished for good, and closed to changes."""

    class Rated(Event):
        """A reader said whether the article helped (the reader is the event's actor)."""

        helpful: bool

    class Deflected(Event):
        """A reader on the way to opening a request said this article answered it, and opened none."""

    @classmethod
    def draft(cls, *, tenant: str, content: Content) -> Article:
        """A new article whose first revision is `content` (checked by `domain.knowledge.content.content`)."""
        return cls(tenant=tenant, **content.as_fields())

    @event(Drafted)
    def __init__(
        self,
        actor_id: str = FROM_CONTEXT,  # provenance the state needs: before `*`, or eventsourcing requires it
        timestamp: datetime = FROM_CONTEXT,
        *,
        tenant: str,
        title: str,
        body: str,
        language: str,
        visibility: str,
        categories: list[str],
        tags: list[str],
    ) -> None:
        self.tenant = tenant
        first = Content(title, body, language, visibility, list(categories), list(tags))
        self.revisions: list[Revision] = [Revision(1, first, actor_id, timestamp)]
        self.status = ArticleStatus.DRAFT
        self.published_revision: int | None = None
        self.published_at: datetime | None = None
        self.votes: dict[str, bool] = {}  # reader -> their latest answer
        self.deflections = 0  # requests this article answered before they were made (docs/knowledge-base.md)

    # --- what it says ------------------------------------------------------------------------------

    @property
    def latest(self) -> Revision:
        """The newest revision (staff see and edit it)."""
        return self.revisions[-1]

    @property
    def published(self) -> Revision | None:
        """The revision readers read, or None while the article is not published."""
        if self.status is not ArticleStatus.PUBLISHED or self.published_revision is None:
            return None
        return self.revisions[self.published_revision - 1]

    @property
    def is_public(self) -> bool:
        """Whether the tenant's customers may read it: published, and its published revision public."""
        published = self.published
        return published is not None and published.content.visibility == Visibility.PUBLIC

    def revision(self, number: int) -> Revision:
        """One revision by its number, or NotFoundError."""
        if not 1 <= number <= len(self.revisions):
            msg = f"article {self.id} has no version {number} (it has 1-{len(self.revisions)})"
            raise NotFoundError(msg)
        return self.revisions[number - 1]

    @property
    def helpful_votes(self) -> int:
        """Readers whose latest answer was that it helped."""
        return sum(self.votes.values())

    @property
    def unhelpful_votes(self) -> int:
        """Readers whose latest answer was that it did not help."""
        return len(self.votes) - self.helpful_votes

    # --- changes -----------------------------------------------------------------------------------

    def edit(self, content: Content) -> None:
        """Record `content` as a new revision; the same content as the latest records nothing."""
        self._refuse_if_archived("edit")
        if content != self.latest.content:
            self._edited(revision=len(self.revisions) + 1, **content.as_fields())

    @event(Edited)
    def _edited(
        self,
        actor_id: str = FROM_CONTEXT,
        timestamp: datetime = FROM_CONTEXT,
        *,
        revision: int,
        title: str,
        body: str,
        language: str,
        visibility: str,
        categories: list[str],
        tags: list[str],
    ) -> None:
        written = Content(title, body, language, visibility, list(categories), list(tags))
        self.revisions = [*self.revisions, Revision(revision, written, actor_id, timestamp)]

    def publish(self) -> None:
        """Let readers read the latest revision; one already published records nothing."""
        self._refuse_if_archived("publish")
        if self.status is not ArticleStatus.PUBLISHED or self.published_revision != self.latest.number:
            self._published(revision=self.latest.number)

    @event(Published)
    def _published(self, timestamp: datetime = FROM_CONTEXT, *, revision: int) -> None:
        self.status = ArticleStatus.PUBLISHED
        self.published_revision = revision
        self.published_at = timestamp

    def unpublish(self) -> None:
        """Withdraw the article from readers; one not published records nothing."""
        self._refuse_if_archived("unpublish")
        if self.status is ArticleStatus.PUBLISHED:
            self._unpublished()

    @event(Unpublished)
    def _unpublished(self) -> None:
        self.status = ArticleStatus.UNPUBLISHED

    def archive(self) -> None:
        """Retire the article for good; an archived one records nothing."""
        if self.status is not ArticleStatus.ARCHIVED:
            self._archived()

    @event(Archived)
    def _archived(self) -> None:
        self.status = ArticleStatus.ARCHIVED

    def rate(self, *, helpful: bool) -> None:
        """Record the current reader's answer; the same answer as their last records nothing."""
        if self.published is None:
            msg = f"article {self.id} is not published: only a published article is rated"
            raise IllegalTransitionError(msg)
        if self.votes.get(current().actor.id) is not helpful:
            self._rated(helpful=helpful)

    @event(Rated)
    def _rated(self, actor_id: str = FROM_CONTEXT, *, helpful: bool) -> None:
        self.votes = {**self.votes, actor_id: helpful}

    def deflect(self) -> None:
        """Record that the article answered a request the current reader was about to make."""
        if self.published is None:
            msg = f"article {self.id} is not published: only a published article answers requests"
            raise IllegalTransitionError(msg)
        self._deflected()

    @event(Deflected)
    def _deflected(self) -> None:
        self.deflections += 1

    def _refuse_if_archived(self, what: str) -> None:
        if self.status is ArticleStatus.ARCHIVED:
            msg = f"article {self.id} is archived: it cannot {what} any more"
            raise IllegalTransitionError(msg)
