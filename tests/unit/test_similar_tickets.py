"""Similar tickets: a ranking by title likeness, whatever the titles (English, Chinese, noise)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.suggestions.similar import DUPLICATE_SCORE, similar
from projections.tickets.rows import TicketRow

WORDS = ["printer", "invoice", "vpn", "refund", "打印机", "发票", "退款", "电脑", "is broken", "坏了", "申请"]
titles = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)


def _row(title: str) -> TicketRow:
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    return TicketRow(
        ticket_id=uuid4(),
        tenant="acme",
        title=title,
        status="new",
        status_category="new",
        priority="normal",
        priority_rank=2,
        ticket_type=None,
        group=None,
        assignee=None,
        requester_id="bob",
        organisation=None,
        channel="api",
        tags=[],
        custom_fields={},
        created_at=moment,
        updated_at=moment,
    )


@settings(max_examples=50, deadline=None)
@given(titles, st.lists(titles, max_size=12), st.integers(min_value=1, max_value=5))
def test_the_ranking_is_most_alike_first_bounded_and_an_identical_title_is_a_likely_duplicate(
    title: str, others: list[str], limit: int
) -> None:
    candidates = [_row(t) for t in [*others, title]]
    found = similar(title, candidates, limit=limit)
    scores = [s.score for s in found]
    assert scores == sorted(scores, reverse=True)
    assert len(found) <= limit
    assert all(0 <= s <= 1.0001 for s in scores)
    assert found[0].score >= DUPLICATE_SCORE  # the identical title is among the candidates
    assert found[0].likely_duplicate
    assert {s.row.ticket_id for s in found} <= {c.ticket_id for c in candidates}


def test_no_candidates_or_a_blank_title_finds_nothing() -> None:
    assert similar("printer", [], limit=5) == []
    assert similar("  ", [_row("printer")], limit=5) == []
