"""The dashboard's bar layout: every bar fits the drawing, stacked parts follow one another, lengths are to scale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.web.charts import GAP, LABEL_WIDTH, VALUE_WIDTH, WIDTH, bar, laid_out, percent

values = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5)


@given(st.lists(values, min_size=1, max_size=40))
def test_bars_fit_the_drawing_and_stack_part_after_part(rows: list[list[int]]) -> None:
    chart = laid_out("c", ("k",), [], [bar(str(n), *v, text=str(sum(v))) for n, v in enumerate(rows)], tickets="/")
    longest = max(sum(v) for v in rows)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    for n, (placed, wanted) in enumerate(zip(chart.bars, rows, strict=True)):
        assert placed.y < chart.height
        x = float(LABEL_WIDTH)
        for segment, value in zip(placed.segments, wanted, strict=True):
            assert segment.x == pytest.approx(x, abs=0.02)  # each part begins where the last one ended
            expected = 0.0 if longest == 0 else room * value / longest
            assert segment.width == pytest.approx(expected, abs=0.02)
            x += segment.width
        assert placed.end <= WIDTH - VALUE_WIDTH + GAP + 0.1  # the number always has its room
        assert n == 0 or placed.y > chart.bars[n - 1].y


def test_a_percent_chart_is_drawn_to_a_hundred() -> None:
    chart = laid_out("c", ("k",), [], [bar("a", 50.0, text="50%")], tickets="/", scale=100.0)
    assert chart.bars[0].segments[0].width == (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / 2


def test_nothing_is_no_percent() -> None:
    assert percent(0, 0) is None
    assert percent(1, 3) == 33.3
