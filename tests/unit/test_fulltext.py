"""The search tokeniser (projections/fulltext.py): what is indexed is found by its parts, on both stores."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from projections.fulltext import fts5_match, index_terms, query, tsquery

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
TEXTS = st.lists(st.one_of(st.text(alphabet=HAN, min_size=1, max_size=12), WORDS), min_size=1, max_size=8).map(" ".join)


@given(TEXTS, st.data())
def test_every_cjk_substring_of_two_or_more_characters_is_found(text: str, data: st.DataObject) -> None:
    runs = [part for part in text.split(" ") if "\u4e00" <= part[0] <= "\u9fff"]
    if not runs:
        return
    run = data.draw(st.sampled_from(runs))
    start = data.draw(st.integers(0, len(run) - 1))
    end = data.draw(st.integers(start + 1, len(run)))
    indexed = set(index_terms(text).split())
    assert set(query(run[start:end]).terms) <= indexed


@given(TEXTS, st.data())
def test_every_word_is_found_whatever_its_case(text: str, data: st.DataObject) -> None:
    word = data.draw(st.sampled_from(text.split(" ")))
    assert set(query(word.swapcase()).terms) <= set(index_terms(text).split())


@given(st.text(max_size=60))
def test_any_input_gives_a_query_both_databases_parse(text: str) -> None:
    q = query(text, prefix=True)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61')")
    connection.execute("INSERT INTO t VALUES (?)", [index_terms(text)])
    if q:
        assert connection.execute("SELECT count(*) FROM t WHERE t MATCH ?", [fts5_match(q)]).fetchone() == (1,)
        assert "'" not in "".join(q.terms)  # so tsquery's quoting holds
        assert tsquery(q)


def test_chinese_runs_are_cut_into_characters_and_pairs_and_queries_into_pairs() -> None:
    assert index_terms("打印机 OK") == "打 印 机 打印 印机 ok"
    assert query("打印机").terms == ("打印", "印机")
    assert query("网").terms == ("网",)
    assert query("\uff37\uff49\uff0d\uff26\uff49").terms == ("wi", "fi")  # full-width letters are letters
    assert fts5_match(query("wi f", prefix=True)) == '"wi" AND "f"*'
    assert tsquery(query("printer 网络", any_term=True)) == "('printer') | ('网络')"
    assert tsquery(query("打印机 wi", prefix=True)) == "('打印' <-> '印机') & ('wi':*)"


def test_a_text_holding_a_querys_pairs_apart_does_not_match() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61')")
    connection.executemany("INSERT INTO t VALUES (?)", [[index_terms("打印 印机")], [index_terms("旧打印机")]])
    found = connection.execute("SELECT body FROM t WHERE t MATCH ?", [fts5_match(query("打印机"))]).fetchall()
    assert found == [(index_terms("旧打印机"),)]
