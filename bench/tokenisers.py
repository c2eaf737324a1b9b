"""KB2: how precise and how fast the CJK tokeniser is, against the exact substring and FTS5's trigram tokenizer.

In process, SQLite in memory, BENCH_KB2_DOCS (2,000) Chinese texts of 300 characters drawn from the
bench's character pool (bench/knowledge.py). For random queries of 2, 3 and 4 characters, each
approach's answer is compared with the texts that really hold the query (Python's `in`):

* `pairs_phrase` (projections/fulltext.py, what the product runs): characters and neighbouring
  pairs indexed, a query's pairs asked for as a phrase (at neighbouring positions);
* `pairs_all` (the first cut, kept for the comparison): the same index, the query's pairs merely
  all required, so a text holding them apart is a false positive;
* `trigram` (FTS5's own tokenizer): exact for 3 characters and more, but a query of fewer
  than 3 characters matches nothing through the index.

Reported: precision and recall per query length, query p50 in ms, and index size per text.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from typing import Any

from bench.knowledge import HAN
from projections.fulltext import fts5_match, index_terms, query


def compare_tokenisers(*, docs: int, queries: int = 200) -> list[dict[str, Any]]:
    """Precision, recall and speed of the bigram and trigram approaches over the same texts and queries."""
    rng = random.Random(7)
    texts = ["".join(rng.choice(HAN) for _ in range(300)) for _ in range(docs)]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE bigrams USING fts5(body, tokenize = 'unicode61')")
    db.execute("CREATE VIRTUAL TABLE trigram USING fts5(body, tokenize = 'trigram')")
    db.executemany(
        "INSERT INTO bigrams (rowid, body) VALUES (?, ?)", [(i, index_terms(t)) for i, t in enumerate(texts)]
    )
    db.executemany("INSERT INTO trigram (rowid, body) VALUES (?, ?)", list(enumerate(texts)))
    sizes = {name: _pages(db, name) for name in ("bigrams", "trigram")}
    results = []
    for length in (2, 3, 4):
        asked = ["".join(rng.choice(HAN) for _ in range(length)) for _ in range(queries)]
        for name in ("pairs_phrase", "pairs_all", "trigram"):
            results.append(_judge(db, name, texts, asked, length, sizes["trigram" if name == "trigram" else "bigrams"]))
    return results


def _judge(
    db: sqlite3.Connection, name: str, texts: list[str], asked: list[str], length: int, kib: float
) -> dict[str, Any]:
    times, true_found, found_total, true_total = [], 0, 0, 0
    for text in asked:
        table, expression = _expression(name, text)
        started = time.perf_counter()
        rows = {r[0] for r in db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", [expression])}
        times.append((time.perf_counter() - started) * 1000)
        truth = {i for i, t in enumerate(texts) if text in t}
        true_found += len(rows & truth)
        found_total += len(rows)
        true_total += len(truth)
    return {
        "name": f"kb2_{name}_{length}_chars",
        "docs": len(texts),
        "queries": len(asked),
        "precision": round(true_found / found_total, 3) if found_total else None,
        "recall": round(true_found / true_total, 3) if true_total else None,
        "p50_ms": round(statistics.median(times), 3),
        "index_kib_per_doc": round(kib / len(texts), 2),
    }


def _expression(name: str, text: str) -> tuple[str, str]:
    """The table an approach searches, and its MATCH expression for `text`."""
    if name == "trigram":
        return "trigram", f'"{text}"'
    if name == "pairs_all":
        return "bigrams", " AND ".join(f'"{term}"' for term in query(text).terms)
    return "bigrams", fts5_match(query(text))


def _pages(db: sqlite3.Connection, table: str) -> float:
    """The KiB of an FTS5 table's index (its `_data` shadow table)."""
    (size,) = db.execute(f"SELECT SUM(length(block)) FROM {table}_data").fetchone()
    return float(size) / 1024
