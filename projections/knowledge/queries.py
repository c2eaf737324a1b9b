"""Reads of the knowledge base: ranked search, lists, and the ratings report, scoped to a tenant and a reader.

A reader who reads only published public articles (a customer) searches and lists their
published content; staff search and list the latest revision of every article not archived
(archived ones when asked by status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.fulltext import Query, fts5_match, tsquery
from projections.knowledge.rows import CURRENT, PUBLIC, ArticleRow
from projections.knowledge.tables import ARTICLE_COLUMNS, article_row, articles, search, votes
from projections.sql import Reader

SUMMARY_CHARS = 200
#: Weights of the title against the rest: FTS5's bm25 per column; PostgreSQL's A and D (ts_rank's defaults).
TITLE_WEIGHT, REST_WEIGHT = 10.0, 1.0


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """An article as a list or search shows it: what its reader reads of it."""

    article_id: UUID
    title: str
    summary: str  # the body's first characters
    language: str
    visibility: str
    status: str
    categories: list[str]
    tags: list[str]
    revision: int  # the revision shown: the published one to customers, the latest to staff
    updated_at: datetime
    score: float | None = None  # search only: higher is a better match


@dataclass(frozen=True, slots=True)
class ArticleRating:
    """What readers said of an article: their latest votes."""

    article_id: UUID
    title: str
    status: str
    helpful: int
    unhelpful: int
    deflected: int = 0  # requests it answered before they were made

    @property
    def helpful_share(self) -> float | None:
        """Helpful votes over all votes (None: no votes)."""
        total = self.helpful + self.unhelpful
        return None if total == 0 else self.helpful / total


class KnowledgeQueries(Reader):
    """Reads of one generation's knowledge tables."""

    def search(
        self, tenant: str, q: Query, *, public_only: bool, language: str | None = None, limit: int = 20
    ) -> list[ArticleSummary]:
        """The articles matching `q`, best first; customers' searches see published public content only."""
        if not q:
            return []
        p, a, s = self.d.placeholder, articles(self.names), search(self.names)
        edition = PUBLIC if public_only else CURRENT
        where = [f"s.tenant = {p}", f"s.edition = {p}"]
        params: list[Any] = [tenant, edition]
        if language is not None:
            where.append(f"s.language = {p}")
            params.append(language)
        if not public_only:
            where.append("a.status <> 'archived'")
        chosen = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS)
        if self.d.is_postgres:
            sql = (
                f"SELECT {chosen}, ts_rank(s.terms, query) AS score FROM {s} AS s, to_tsquery('simple', %s) AS query, "
                f"{a} AS a WHERE s.terms @@ query AND a.article_id = s.article_id AND {' AND '.join(where)} "
                f"ORDER BY score DESC, a.updated_at DESC LIMIT %s"
            )
            params = [tsquery(q), *params, limit]
        else:
            # bm25 is lower for a better match; its weights are per column, the unindexed ones first.
            sql = (
                f"SELECT {chosen}, -bm25({s}, 0, 0, 0, 0, {TITLE_WEIGHT}, {REST_WEIGHT}) AS score FROM {s} AS s "
                f"JOIN {a} AS a ON a.article_id = s.article_id WHERE {s} MATCH ? AND {' AND '.join(where)} "
                "ORDER BY score DESC, a.updated_at DESC LIMIT ?"
            )
            params = [fts5_match(q), *params, limit]
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(sql, params)
            return [_summary(article_row(self.d, r), public_only, float(r["score"])) for r in cursor.fetchall()]

    def articles(
        self,
        tenant: str,
        *,
        public_only: bool,
        status: str | None = None,
        language: str | None = None,
        limit: int = 100,
    ) -> list[ArticleSummary]:
        """The tenant's articles, latest change first: customers' published public ones; staff's not archived."""
        p = self.d.placeholder
        where, params = [f"tenant = {p}"], [tenant]  # type: list[str], list[Any]
        if public_only:
            where.append("public = 1")
        elif status is not None:
            where.append(f"status = {p}")
            params.append(status)
        else:
            where.append("status <> 'archived'")
        if language is not None and public_only:
            where.append(f"{self.d.json_at('published')} = {p}")
            params += [self.d.json_path("language"), self.d.json_scalar(language)]
        elif language is not None:
            where.append(f"language = {p}")
            params.append(language)
        return [_summary(row, public_only) for row in self._rows(where, params, limit)]

    def ratings(self, tenant: str, *, limit: int = 100) -> list[ArticleRating]:
        """Every article of the tenant with votes or answered requests: most unhelpful first, then most deflecting."""
        p, a, v = self.d.placeholder, articles(self.names), votes(self.names)
        helpful, unhelpful = "COALESCE(SUM(v.helpful), 0)", "COALESCE(SUM(1 - v.helpful), 0)"
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT a.article_id, a.title, a.status, a.deflections, {helpful} AS helpful, "
                f"{unhelpful} AS unhelpful FROM {a} AS a LEFT JOIN {v} AS v ON v.article_id = a.article_id "
                f"WHERE a.tenant = {p} AND (a.deflections > 0 OR v.article_id IS NOT NULL) "
                "GROUP BY a.article_id, a.title, a.status, a.deflections "
                f"ORDER BY {unhelpful} DESC, {helpful} ASC, a.deflections DESC, a.article_id LIMIT {p}",
                [tenant, limit],
            )
            return [
                ArticleRating(
                    article_id=self.d.to_uuid(r["article_id"]),
                    title=r["title"],
                    status=r["status"],
                    helpful=int(r["helpful"]),
                    unhelpful=int(r["unhelpful"]),
                    deflected=int(r["deflections"]),
                )
                for r in cursor.fetchall()
            ]

    def _rows(self, where: list[str], params: list[Any], limit: int) -> list[ArticleRow]:
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM {articles(self.names)} WHERE {' AND '.join(where)} "
                f"ORDER BY updated_at DESC, article_id LIMIT {self.d.placeholder}",
                [*params, limit],
            )
            return [article_row(self.d, r) for r in cursor.fetchall()]


def _shown(row: ArticleRow, public_only: bool) -> dict[str, Any]:
    """The content a reader reads: the published one for customers, the latest for staff."""
    return row.published if public_only and row.published is not None else row.content


def _summary(row: ArticleRow, public_only: bool, score: float | None = None) -> ArticleSummary:
    shown = _shown(row, public_only)
    return ArticleSummary(
        article_id=row.article_id,
        title=shown["title"],
        summary=shown["body"][:SUMMARY_CHARS],
        language=shown["language"],
        visibility=shown["visibility"],
        status=row.status,
        categories=list(shown["categories"]),
        tags=list(shown["tags"]),
        revision=row.published_revision if public_only and row.published_revision else row.revision,
        updated_at=row.updated_at,
        score=score,
    )
