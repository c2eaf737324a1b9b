"""Knowledge-base commands: draft, edit, publish, unpublish, archive and rate articles; read one as its reader may.

Each is an ordinary command on one article (domain/knowledge/article.py), so every change names
who made it. Who may take which is the access policy's (domain/access/policy.py): the commands
here check only what depends on the article, that a customer reads only published public
articles of its tenant (`reads_article`); anything else is "not found", never "forbidden".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Unpack
from uuid import UUID

from domain.access import policy as access
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError, NotFoundError, NotPermittedError, VersionMismatchError
from domain.knowledge.article import Article
from domain.knowledge.content import content
from domain.pipeline import Acting, CommandPipeline, Keep, OnTicket, Receipt
from domain.races import retried
from domain.tickets.ticket import Ticket


@dataclass(frozen=True, slots=True)
class ArticleReceipt:
    """An article as now recorded, and the log position of its last new event (None: nothing changed)."""

    article: Article
    position: int | None


class KnowledgeCommands(CommandPipeline):
    """The commands and queries of a tenant's knowledge base (searches are the read model's)."""

    def draft_article(
        self,
        *,
        tenant: str,
        title: str,
        body: str,
        language: str,
        visibility: str,
        categories: Iterable[str] = (),
        tags: Iterable[str] = (),
        **how: Unpack[Acting],
    ) -> ArticleReceipt:
        """A new, unpublished article; InvalidValueError says what is wrong with the content."""
        checked = content(
            title=title, body=body, language=language, visibility=visibility, categories=categories, tags=tags
        )
        with self._acting(tenant=tenant, **how):
            article = Article.draft(tenant=tenant, content=checked)
        return self._commit_article(article)

    @retried
    def edit_article(
        self,
        article_id: UUID,
        *,
        tenant: str,
        title: str | Keep,
        body: str | Keep,
        language: str | Keep,
        visibility: str | Keep,
        categories: Iterable[str] | Keep,
        tags: Iterable[str] | Keep,
        expected_version: int | None = None,
        **how: Unpack[Acting],
    ) -> ArticleReceipt:
        """A new revision of what is given (Keep: as the latest says); the same content records nothing."""
        article = self._article_for_update(article_id, tenant, expected_version)
        latest = article.latest.content
        checked = content(
            title=latest.title if isinstance(title, Keep) else title,
            body=latest.body if isinstance(body, Keep) else body,
            language=latest.language if isinstance(language, Keep) else language,
            visibility=latest.visibility if isinstance(visibility, Keep) else visibility,
            categories=latest.categories if isinstance(categories, Keep) else categories,
            tags=latest.tags if isinstance(tags, Keep) else tags,
        )
        with self._acting(tenant=tenant, **how):
            article.edit(checked)
        return self._commit_article(article)

    @retried
    def publish_article(
        self, article_id: UUID, *, tenant: str, expected_version: int | None = None, **how: Unpack[Acting]
    ) -> ArticleReceipt:
        """Publish the latest revision; an archived article cannot be (IllegalTransitionError)."""
        article = self._article_for_update(article_id, tenant, expected_version)
        with self._acting(tenant=tenant, **how):
            article.publish()
        return self._commit_article(article)

    @retried
    def unpublish_article(
        self, article_id: UUID, *, tenant: str, expected_version: int | None = None, **how: Unpack[Acting]
    ) -> ArticleReceipt:
        """Withdraw the article from readers."""
        article = self._article_for_update(article_id, tenant, expected_version)
        with self._acting(tenant=tenant, **how):
            article.unpublish()
        return self._commit_article(article)

    @retried
    def archive_article(
        self, article_id: UUID, *, tenant: str, expected_version: int | None = None, **how: Unpack[Acting]
    ) -> ArticleReceipt:
        """Retire the article for good."""
        article = self._article_for_update(article_id, tenant, expected_version)
        with self._acting(tenant=tenant, **how):
            article.archive()
        return self._commit_article(article)

    @retried
    def rate_article(self, article_id: UUID, *, tenant: str, helpful: bool, **how: Unpack[Acting]) -> ArticleReceipt:
        """Record whether the article helped the caller, who must read it; their last answer counts."""
        article = self.article(article_id, tenant=tenant, reader=how["by"])
        with self._acting(tenant=tenant, **how):
            article.rate(helpful=helpful)
        return self._commit_article(article)

    @retried
    def record_deflection(self, article_id: UUID, *, tenant: str, **how: Unpack[Acting]) -> ArticleReceipt:
        """Record that the article answered what the caller, who must read it, was about to ask in a request."""
        article = self.article(article_id, tenant=tenant, reader=how["by"])
        with self._acting(tenant=tenant, **how):
            article.deflect()
        return self._commit_article(article)

    @retried
    def link_articles(self, ticket_id: UUID, article_ids: Iterable[UUID], **how: Unpack[OnTicket]) -> Receipt:
        """Link articles of the ticket's tenant to the ticket (an agent inserted them into a reply).

        An id that names no article of the tenant is InvalidValueError: it came in the body, not the path.
        """
        wanted = list(article_ids)
        if how["by"].kind is ActorKind.REQUESTER:
            msg = "only staff link articles to tickets"
            raise NotPermittedError(msg)

        def link(ticket: Ticket) -> None:
            for article_id in wanted:
                if not self._of_tenant(article_id, ticket.tenant):
                    msg = f"no article {article_id} to link"
                    raise InvalidValueError(msg)
            ticket.link_articles(wanted)

        return self._on_ticket(ticket_id, link, **how)

    # --- queries -----------------------------------------------------------------------------------

    def article(self, article_id: UUID, *, tenant: str, reader: Actor | None = None) -> Article:
        """The article as it now is, if `reader` (None: staff of the tenant) reads it; else NotFoundError."""
        found = self._configured(Article, article_id)
        if found is None or found.tenant != tenant or not _reads(reader, found):
            msg = f"no article {article_id}"
            raise NotFoundError(msg)
        return found

    def _of_tenant(self, article_id: UUID, tenant: str) -> bool:
        found = self._configured(Article, article_id)
        return found is not None and found.tenant == tenant

    def _article_for_update(self, article_id: UUID, tenant: str, expected_version: int | None) -> Article:
        article = self.article(article_id, tenant=tenant)
        if expected_version is not None and article.version != expected_version:
            raise VersionMismatchError(expected_version, article.version)
        return article

    def _commit_article(self, article: Article) -> ArticleReceipt:
        recordings = self.save(article)
        return ArticleReceipt(article, recordings[-1].notification.id if recordings else None)


def _reads(reader: Actor | None, article: Article) -> bool:
    """Whether `reader` (None: staff of the article's tenant) reads the article, as the access policy says."""
    return reader is None or access.reads_article(reader, article, tenant=article.tenant)
