"""How the `ledgerdesk` command words counts and lays out tables (no process, no database)."""

from __future__ import annotations

import pytest

from api.cli.output import counted, one_or_many, table


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 tickets"), (1, "1 ticket"), (2, "2 tickets"), (-1, "-1 tickets")]
)
def test_counted_puts_the_noun_in_the_right_number(count: int, expected: str) -> None:
    assert counted(count, "ticket") == expected


def test_counted_takes_an_irregular_plural() -> None:
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"


def test_the_verb_agrees_with_the_count() -> None:
    assert [one_or_many(n, "verifies", "verify") for n in (0, 1, 2)] == ["verify", "verifies", "verify"]


def test_a_table_aligns_its_columns_under_the_header() -> None:
    lines = list(table(("id", "actor", "state"), [("k1", "agent alice", "live"), ("key22", "bob", "revoked x")]))
    assert lines == [
        "id     actor        state",
        "k1     agent alice  live",
        "key22  bob          revoked x",
    ]


def test_a_table_without_rows_is_its_header() -> None:
    assert list(table(("id", "state"), [])) == ["id  state"]
