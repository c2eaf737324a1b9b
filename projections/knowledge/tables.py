"""The knowledge tables: `kb_articles` (one row per article), `kb_search` (its terms per edition), `kb_votes`.

`kb_search` is where the databases differ: on PostgreSQL a `tsvector` of the `simple`
configuration under a GIN index, the title's terms weighted A and the rest D; on SQLite an FTS5
table (unicode61 tokenizer) with the title and the rest as two columns. Both hold the terms
projections/fulltext.py cut, never the raw text, so Chinese is found by any two characters.
An article's search rows are rewritten whole whenever its row changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.fulltext import index_terms
from projections.knowledge.rows import CURRENT, PUBLIC, ArticleRow, KnowledgeChanges
from projections.sql import Column, Dialect, Kind, TableNames

COLUMNS = (
    Column("article_id", Kind.UUID),
    Column("tenant", Kind.TEXT),
    Column("status", Kind.TEXT),
    Column("revision", Kind.INTEGER),
    Column("title", Kind.TEXT),
    Column("body", Kind.TEXT),
    Column("language", Kind.TEXT),
    Column("visibility", Kind.TEXT),
    Column("categories", Kind.JSON),
    Column("tags", Kind.JSON),
    Column("created_at", Kind.TIME),
    Column("updated_at", Kind.TIME),
    Column("published_revision", Kind.INTEGER, required=False),
    Column("published", Kind.JSON, required=False),
    Column("published_at", Kind.TIME, required=False),
    Column("public", Kind.FLAG),
    Column("deflections", Kind.INTEGER),
)
ARTICLE_COLUMNS = tuple(column.name for column in COLUMNS)
#: Every knowledge table of a generation (what dropping it removes).
KNOWLEDGE_TABLES = ("kb_articles", "kb_search", "kb_votes")


def articles(n: TableNames) -> str:
    """One row per article."""
    return n.table("kb_articles")


def search(n: TableNames) -> str:
    """The search terms of each article's editions."""
    return n.table("kb_search")


def votes(n: TableNames) -> str:
    """Each reader's latest vote on each article."""
    return n.table("kb_votes")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's knowledge tables and indexes."""
    a = articles(n)
    return [
        d.create_table(a, COLUMNS, primary_key=("article_id",)),
        f"CREATE INDEX IF NOT EXISTS {n.index('kb_articles_by_tenant')} ON {a} (tenant, updated_at)",
        f"CREATE TABLE IF NOT EXISTS {votes(n)} (article_id {d.uuid_type} NOT NULL, voter TEXT NOT NULL, "
        "tenant TEXT NOT NULL, helpful INTEGER NOT NULL, PRIMARY KEY (article_id, voter))",
        f"CREATE INDEX IF NOT EXISTS {n.index('kb_votes_by_voter')} ON {votes(n)} (tenant, voter)",
        *_search_statements(d, n),
    ]


def _search_statements(d: Dialect, n: TableNames) -> list[str]:
    s = search(n)
    if d.is_postgres:
        return [
            f"CREATE TABLE IF NOT EXISTS {s} (article_id UUID NOT NULL, edition TEXT NOT NULL, tenant TEXT NOT NULL, "
            "language TEXT NOT NULL, terms TSVECTOR NOT NULL, PRIMARY KEY (article_id, edition))",
            f"CREATE INDEX IF NOT EXISTS {n.index('kb_search_terms')} ON {s} USING GIN (terms)",
        ]
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {s} USING fts5(article_id UNINDEXED, edition UNINDEXED, "
        "tenant UNINDEXED, language UNINDEXED, title, rest, tokenize = 'unicode61')"
    ]


def load(cursor: Any, d: Dialect, n: TableNames, changes: KnowledgeChanges, ids: Sequence[UUID]) -> None:
    """Put the stored rows of these articles into the batch (unknown ones are skipped)."""
    cursor.execute(
        f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM {articles(n)} WHERE article_id IN ({d.params(len(ids))})",
        [d.uuid(i) for i in ids],
    )
    for r in cursor.fetchall():
        row = article_row(d, r)
        changes.articles.setdefault(row.article_id, row)


def article_row(d: Dialect, r: Any) -> ArticleRow:
    """A stored row as an ArticleRow."""
    return ArticleRow(
        article_id=d.to_uuid(r["article_id"]),
        tenant=r["tenant"],
        status=r["status"],
        revision=r["revision"],
        title=r["title"],
        body=r["body"],
        language=r["language"],
        visibility=r["visibility"],
        categories=d.to_json(r["categories"]),
        tags=d.to_json(r["tags"]),
        created_at=d.to_time(r["created_at"]),  # type: ignore[arg-type]  # NOT NULL
        updated_at=d.to_time(r["updated_at"]),  # type: ignore[arg-type]  # NOT NULL
        published_revision=r["published_revision"],
        published=None if r["published"] is None else d.to_json(r["published"]),
        deflections=r["deflections"],
        published_at=d.to_time(r["published_at"]),
    )


def write(cursor: Any, d: Dialect, n: TableNames, changes: KnowledgeChanges) -> None:
    """Upsert the batch's articles and rewrite their search rows; drop erased readers' votes, then upsert votes."""
    rows = sorted(changes.articles.values(), key=lambda row: str(row.article_id))
    updates = ", ".join(f"{c} = excluded.{c}" for c in ARTICLE_COLUMNS if c != "article_id")
    d.insert_rows(
        cursor,
        articles(n),
        ARTICLE_COLUMNS,
        [_values(d, row) for row in rows],
        f"ON CONFLICT (article_id) DO UPDATE SET {updates}",
    )
    _write_search(cursor, d, n, rows)
    for tenant, person in sorted(changes.erased):
        cursor.execute(
            f"DELETE FROM {votes(n)} WHERE tenant = {d.placeholder} AND voter = {d.placeholder}", [tenant, person]
        )
    d.insert_rows(
        cursor,
        votes(n),
        ("article_id", "voter", "tenant", "helpful"),
        [(d.uuid(a), voter, tenant, int(helpful)) for (a, voter), (tenant, helpful) in sorted(changes.votes.items())],
        "ON CONFLICT (article_id, voter) DO UPDATE SET helpful = excluded.helpful",
    )


def _values(d: Dialect, row: ArticleRow) -> tuple[Any, ...]:
    return (
        d.uuid(row.article_id),
        row.tenant,
        row.status,
        row.revision,
        row.title,
        row.body,
        row.language,
        row.visibility,
        d.json(row.categories),
        d.json(row.tags),
        d.time(row.created_at),
        d.time(row.updated_at),
        row.published_revision,
        None if row.published is None else d.json(row.published),
        d.time(row.published_at),
        int(row.is_public),
        row.deflections,
    )


def _editions(row: ArticleRow) -> list[tuple[str, dict[str, Any]]]:
    """The editions of an article search indexes: the latest revision, and the public one while there is one."""
    editions = [(CURRENT, row.content)]
    if row.is_public and row.published is not None:
        editions.append((PUBLIC, row.published))
    return editions


def _terms(content: dict[str, Any]) -> tuple[str, str]:
    """The indexed terms of a content: its title's, and the rest's (body, categories, tags)."""
    rest = " ".join([content["body"], *content["categories"], *content["tags"]])
    return index_terms(content["title"]), index_terms(rest)


def _write_search(cursor: Any, d: Dialect, n: TableNames, rows: list[ArticleRow]) -> None:
    if not rows:
        return
    s = search(n)
    d.delete_where_in(cursor, s, "article_id", [d.uuid(row.article_id) for row in rows])
    found = [
        (d.uuid(row.article_id), edition, row.tenant, content["language"], *_terms(content))
        for row in rows
        for edition, content in _editions(row)
    ]
    if d.is_postgres:
        cursor.executemany(
            f"INSERT INTO {s} (article_id, edition, tenant, language, terms) VALUES (%s, %s, %s, %s, "
            "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'D'))",
            found,
        )
        return
    cursor.executemany(
        f"INSERT INTO {s} (article_id, edition, tenant, language, title, rest) VALUES (?, ?, ?, ?, ?, ?)", found
    )
