"""How article events change the knowledge read model: the whole row of each article a batch touches, and votes."""

from __future__ import annotations

from functools import singledispatch
from typing import Any
from uuid import UUID

from domain.knowledge.article import Article, ArticleStatus
from domain.privacy.data_subject import DataSubject
from projections.batch import Folding
from projections.knowledge.rows import ArticleRow


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds change no article."""


@fold.register(Article.Drafted)
def _drafted(event: Article.Drafted, f: Folding) -> None:
    f.batch.knowledge.articles[event.originator_id] = ArticleRow(
        article_id=event.originator_id,
        tenant=event.tenant,
        status=ArticleStatus.DRAFT.value,
        revision=1,
        title=event.title,
        body=event.body,
        language=event.language,
        visibility=event.visibility,
        categories=list(event.categories),
        tags=list(event.tags),
        created_at=event.timestamp,
        updated_at=event.timestamp,
    )


@fold.register(Article.Edited)
def _edited(event: Article.Edited, f: Folding) -> None:
    row = _row(f, event.originator_id)
    row.revision = event.revision
    row.title, row.body, row.language, row.visibility = event.title, event.body, event.language, event.visibility
    row.categories, row.tags = list(event.categories), list(event.tags)
    row.updated_at = event.timestamp


@fold.register(Article.Published)
def _published(event: Article.Published, f: Folding) -> None:
    # What is published is always the latest revision at the time (Article.publish), which the row holds.
    row = _row(f, event.originator_id)
    row.status = ArticleStatus.PUBLISHED.value
    row.published_revision, row.published, row.published_at = event.revision, row.content, event.timestamp
    row.updated_at = event.timestamp


@fold.register(Article.Unpublished)
def _unpublished(event: Article.Unpublished, f: Folding) -> None:
    _withdrawn(_row(f, event.originator_id), ArticleStatus.UNPUBLISHED, event)


@fold.register(Article.Archived)
def _archived(event: Article.Archived, f: Folding) -> None:
    _withdrawn(_row(f, event.originator_id), ArticleStatus.ARCHIVED, event)


def _withdrawn(row: ArticleRow, status: ArticleStatus, event: Article.Event) -> None:
    row.status, row.published, row.updated_at = status.value, None, event.timestamp


@fold.register(Article.Rated)
def _rated(event: Article.Rated, f: Folding) -> None:
    f.batch.knowledge.votes[(event.originator_id, event.actor_id)] = (event.tenant, event.helpful)


@fold.register(Article.Deflected)
def _deflected(event: Article.Deflected, f: Folding) -> None:
    _row(f, event.originator_id).deflections += 1


@fold.register(DataSubject.PersonErased)
def _person_erased(event: DataSubject.PersonErased, f: Folding) -> None:
    # An erased person's votes go: stored ones when the batch is written, this batch's here.
    changes = f.batch.knowledge
    changes.erased.add((event.tenant, event.person_id))
    gone = (event.tenant, event.person_id)
    changes.votes = {key: vote for key, vote in changes.votes.items() if (vote[0], key[1]) != gone}


def _row(f: Folding, article_id: UUID) -> ArticleRow:
    """The article's working row (loaded when the batch does not hold it yet)."""
    rows = f.batch.knowledge.articles
    if article_id not in rows:
        f.view.load_articles(f.batch.knowledge, {article_id})
    return rows[article_id]
