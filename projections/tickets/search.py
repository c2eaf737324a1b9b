"""The `ticket_search` table: the search terms of each part of a ticket (its title, its description, each comment).

A row per part, with the person whose data key seals the part's text (the requester for the
title and description, a comment's author for the comment) and whether the part is an internal
note, so a search can leave notes out for customers and an erasure can delete a person's parts.
The terms are cut by projections/fulltext.py, as the knowledge base's are (Chinese found by any
two characters): a `tsvector` of the `simple` configuration under a GIN index on PostgreSQL, an
FTS5 table on SQLite. A text that reads as erased (its key destroyed) is not indexed.

Comments are never edited, so their rows are only added; a new title or description replaces
the part's row (on SQLite by a scan of the table's unindexed columns: such changes are rare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.values import ERASED
from projections.fulltext import Query, fts5_match, index_terms, tsquery
from projections.sql import Dialect, TableNames

TITLE, DESCRIPTION = "title", "description"
#: What a personal field reads as where it was not decrypted, or erased: never indexed.
UNREADABLE = (ERASED, "[not decrypted]")


@dataclass(frozen=True, slots=True)
class SearchPart:
    """One searchable part of a ticket, as the batch carries it to the table."""

    ticket_id: UUID
    part: str  # TITLE, DESCRIPTION or comment_part(number)
    tenant: str
    author: str  # whose data key seals the text
    internal: bool  # an internal note: agents alone search it
    text: str
    replaces: bool = False  # the part may already have a row (a changed title or description)


def comment_part(number: int) -> str:
    """The part name of a ticket's comment."""
    return f"comment:{number}"


def table(n: TableNames) -> str:
    """The search terms of each ticket's parts."""
    return n.table("ticket_search")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `ticket_search` table and its index."""
    s = table(n)
    if d.is_postgres:
        return [
            f"CREATE TABLE IF NOT EXISTS {s} (ticket_id UUID NOT NULL, part TEXT NOT NULL, tenant TEXT NOT NULL, "
            "author TEXT NOT NULL, internal INTEGER NOT NULL, terms TSVECTOR NOT NULL, PRIMARY KEY (ticket_id, part))",
            f"CREATE INDEX IF NOT EXISTS {n.index('ticket_search_terms')} ON {s} USING GIN (terms)",
        ]
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {s} USING fts5(ticket_id UNINDEXED, part UNINDEXED, "
        "tenant UNINDEXED, author UNINDEXED, internal UNINDEXED, terms, tokenize = 'unicode61')"
    ]


def write(
    cursor: Any, d: Dialect, n: TableNames, parts: dict[tuple[UUID, str], SearchPart], erased: set[tuple[str, str]]
) -> None:
    """Delete the parts of people erased, then write the batch's parts (replacing those that may exist)."""
    s, p = table(n), d.placeholder
    for tenant, person in sorted(erased):
        cursor.execute(f"DELETE FROM {s} WHERE tenant = {p} AND author = {p}", [tenant, person])
    if erased:
        _forget_deleted_terms(cursor, d, n)
    ordered = sorted(parts.values(), key=lambda part: (str(part.ticket_id), part.part))
    replaced = [(d.uuid(part.ticket_id), part.part) for part in ordered if part.replaces]
    if replaced:
        cursor.executemany(f"DELETE FROM {s} WHERE ticket_id = {p} AND part = {p}", replaced)
    found = [
        (d.uuid(part.ticket_id), part.part, part.tenant, part.author, int(part.internal), index_terms(part.text))
        for part in ordered
        if part.text and part.text not in UNREADABLE
    ]
    if not found:
        return
    terms = "to_tsvector('simple', %s)" if d.is_postgres else "?"
    cursor.executemany(
        f"INSERT INTO {s} (ticket_id, part, tenant, author, internal, terms) VALUES ({p}, {p}, {p}, {p}, {p}, {terms})",
        found,
    )


def scrub(cursor: Any, d: Dialect, n: TableNames, ticket_id: UUID, person_id: str) -> None:
    """Delete a person's parts of a parked ticket now: its erasure must not wait for a retry."""
    p = d.placeholder
    cursor.execute(f"DELETE FROM {table(n)} WHERE ticket_id = {p} AND author = {p}", [d.uuid(ticket_id), person_id])
    _forget_deleted_terms(cursor, d, n)


def _forget_deleted_terms(cursor: Any, d: Dialect, n: TableNames) -> None:
    """Make a delete's terms gone from the index itself, not only unreachable.

    FTS5 records a delete as a marker beside the old segment, which keeps the terms until the
    segments are merged: `optimize` merges them all now (the erasure's secure_delete then zeroes
    the freed pages). PostgreSQL's VACUUM after an erasure (`SqlTicketsView.reclaim`) clears the
    table and its GIN index.
    """
    if not d.is_postgres:
        s = table(n)
        cursor.execute(f"INSERT INTO {s} ({s}) VALUES ('optimize')")


def matching(d: Dialect, n: TableNames, q: Query, tenant: str, *, notes: bool) -> tuple[str, list[Any]]:
    """A subquery of the ids of the tenant's tickets with a part matching `q` (internal notes only with `notes`)."""
    s, p = table(n), d.placeholder
    sql = f"SELECT ticket_id FROM {s} WHERE {_match(d, n)} AND tenant = {p}"
    if not notes:
        sql += " AND internal = 0"
    return sql, [tsquery(q) if d.is_postgres else fts5_match(q), tenant]


def ranks(d: Dialect, n: TableNames, q: Query, tenant: str, *, notes: bool) -> tuple[str, list[Any]]:
    """A subquery of (`hit`, `score`): each matching ticket's best part's rank, higher is better.

    `ts_rank` on PostgreSQL; FTS5's `rank` (bm25, lower for a better match) negated on SQLite.
    """
    s, p = table(n), d.placeholder
    if d.is_postgres:
        score, params = f"ts_rank(terms, to_tsquery('simple', {p}))", [tsquery(q), tsquery(q)]
    else:
        # FTS5's `rank` column (its bm25) where bm25() itself may not be used: under the grouping.
        score, params = "-rank", [fts5_match(q)]
    parts = f"SELECT ticket_id AS hit, {score} AS score FROM {s} WHERE {_match(d, n)} AND tenant = {p}"
    if not notes:
        parts += " AND internal = 0"
    return f"SELECT hit, MAX(score) AS score FROM ({parts}) AS parts GROUP BY hit", [*params, tenant]


def _match(d: Dialect, n: TableNames) -> str:
    return f"terms @@ to_tsquery('simple', {d.placeholder})" if d.is_postgres else f"{table(n)} MATCH {d.placeholder}"
