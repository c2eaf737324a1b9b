"""Full-text search, the one engine of knowledge-base and ticket search: how text becomes terms, and their SQL.

Neither database's own parser cuts Chinese into words: PostgreSQL's and SQLite FTS5's unicode61
take a whole run of Han characters for one token, so "打印机无法连接网络" could only be found by
itself. Here every text is cut into terms before either database sees it, the same way for
indexing and for queries:

* a run of CJK characters (Han, kana, Hangul) gives each character and each overlapping pair of
  neighbours ("打印机" -> 打 印 机 打印 印机); a query's run gives its pairs (or its one character),
  so any substring of two or more characters of an indexed run matches, with no dictionary;
* any other run of letters and digits is one term, case-folded after NFKC (full-width letters are
  letters), with no stemming (docs/knowledge-base.md says why).

The databases then only split on the spaces between terms: PostgreSQL's `simple` configuration
(no stop words, no stemming) into a `tsvector`, ranked with `ts_rank`; SQLite's FTS5 with its
unicode61 tokenizer, ranked with `bm25`. A query matches a text holding all its terms; the
last word of a query may be a prefix (search as you type), and `any_term` asks for one term
or more instead (suggestions from a new ticket's title).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
#: A run of CJK characters, or a run of other letters and digits.
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
#: The most terms a query is cut into (a pasted page would otherwise make a statement of thousands).
QUERY_TERMS_MAX = 32
#: The most characters of a text that are indexed (a longer body is indexed up to here).
INDEXED_CHARS_MAX = 100_000


def _runs(text: str) -> list[tuple[str, bool]]:
    """The runs of `text`, each with whether it is CJK, normalised and case-folded."""
    normal = unicodedata.normalize("NFKC", text[:INDEXED_CHARS_MAX]).casefold()
    return [(cjk or word, bool(cjk)) for cjk, word in _RUN.findall(normal)]


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_terms(text: str) -> str:
    """The terms of `text` as indexed, separated by spaces: CJK characters and pairs, other words whole."""
    terms: list[str] = []
    for run, cjk in _runs(text):
        terms.extend([*run, *_pairs(run)] if cjk else [run])
    return " ".join(terms)


@dataclass(frozen=True, slots=True)
class Query:
    """A search as terms: all must match (or one, with `any_term`); the last may be a prefix."""

    terms: tuple[str, ...]
    prefix_last: bool = False
    any_term: bool = False

    def __bool__(self) -> bool:
        return bool(self.terms)


def query(text: str, *, prefix: bool = False, any_term: bool = False) -> Query:
    """The terms a search for `text` asks for (empty: nothing searchable in it).

    With `prefix`, a last word that is not CJK also matches longer words it begins.
    """
    terms: list[str] = []
    last_is_word = False
    for run, cjk in _runs(text):
        terms.extend((_pairs(run) or [run]) if cjk else [run])
        last_is_word = not cjk
    unique = tuple(dict.fromkeys(terms))[:QUERY_TERMS_MAX]
    prefix_last = prefix and last_is_word and bool(unique) and unique[-1] == terms[-1]
    return Query(unique, prefix_last=prefix_last, any_term=any_term)


def fts5_match(q: Query) -> str:
    """The FTS5 MATCH expression of a query (terms hold only letters and digits, so quoting is enough)."""
    quoted = [f'"{term}"' for term in q.terms]
    if q.prefix_last:
        quoted[-1] += "*"
    return (" OR " if q.any_term else " AND ").join(quoted)


def tsquery(q: Query) -> str:
    """The `to_tsquery('simple', ...)` text of a query."""
    quoted = [f"'{term}'" for term in q.terms]
    if q.prefix_last:
        quoted[-1] += ":*"
    return (" | " if q.any_term else " & ").join(quoted)
