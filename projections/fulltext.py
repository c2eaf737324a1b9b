"""Full-text search, the one engine of knowledge-base and ticket search: how text becomes terms, and their SQL.

Neither database's own parser cuts Chinese into words: PostgreSQL's and SQLite FTS5's unicode61
take a whole run of Han characters for one token, so "打印机无法连接网络" could only be found by
itself. Here every text is cut into terms before either database sees it, the same way for
indexing and for queries:

* a run of CJK characters (Han, kana, Hangul) gives each character, then each overlapping pair of
  neighbours in order ("打印机" -> 打 印 机 打印 印机); a query's run asks for its pairs as a phrase
  (at neighbouring positions; or for its one character), so exactly the texts holding the run
  match, any substring of an indexed run of two or more characters included, with no dictionary;
* any other run of letters and digits is one term, case-folded after NFKC (full-width letters are
  letters), with no stemming (docs/knowledge-base.md says why).

The databases then only split on the spaces between terms: PostgreSQL's `simple` configuration
(no stop words, no stemming) into a `tsvector`, ranked with `ts_rank`; SQLite's FTS5 with its
unicode61 tokenizer, ranked with `bm25`. A query matches a text holding all its phrases; the
last word of a query may be a prefix (search as you type), and `any_term` asks for one phrase
or more instead (suggestions from a new ticket's title). docs/knowledge-base.md has the measures.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
#: A run of CJK characters, or a run of other letters and digits.
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
#: The most phrases a query is cut into (a pasted page would otherwise make a statement of thousands).
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
    """A search as phrases: all must match (or one, with `any_term`); the last may be a prefix.

    A phrase is one word, or the pairs of one CJK run in order: the index lays a run's pairs out
    at neighbouring positions, so a phrase of them matches exactly where the run itself occurs.
    """

    phrases: tuple[tuple[str, ...], ...]
    prefix_last: bool = False
    any_term: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        """Every term of the query, in order."""
        return tuple(term for phrase in self.phrases for term in phrase)

    def __bool__(self) -> bool:
        return bool(self.phrases)


def query(text: str, *, prefix: bool = False, any_term: bool = False) -> Query:
    """The phrases a search for `text` asks for (empty: nothing searchable in it).

    With `prefix`, a last word that is not CJK also matches longer words it begins. With `any_term`,
    each pair of a CJK run is a phrase of its own: a title typed in Chinese finds the articles that
    share most of its pairs (its words), not only those holding the whole title.
    """
    phrases: list[tuple[str, ...]] = []
    for run, cjk in _runs(text):
        pairs = _pairs(run) or [run]
        if not cjk:
            phrases.append((run,))
        elif any_term:
            phrases.extend((pair,) for pair in pairs)
        else:
            phrases.append(tuple(pairs))
    last_is_word = bool(phrases) and not _runs(text)[-1][1]
    unique = tuple(dict.fromkeys(phrases))[:QUERY_TERMS_MAX]
    prefix_last = prefix and last_is_word and unique[-1] == phrases[-1]
    return Query(unique, prefix_last=prefix_last, any_term=any_term)


def fts5_match(q: Query) -> str:
    """The FTS5 MATCH expression of a query (terms hold only letters and digits, so quoting is enough)."""
    quoted = ['"' + " ".join(phrase) + '"' for phrase in q.phrases]
    if q.prefix_last:
        quoted[-1] += "*"
    return (" OR " if q.any_term else " AND ").join(quoted)


def tsquery(q: Query) -> str:
    """The `to_tsquery('simple', ...)` text of a query: a phrase's terms follow each other (`<->`)."""
    quoted = ["(" + " <-> ".join(f"'{term}'" for term in phrase) + ")" for phrase in q.phrases]
    if q.prefix_last:
        quoted[-1] = quoted[-1][:-1] + ":*)"
    return (" | " if q.any_term else " & ").join(quoted)
