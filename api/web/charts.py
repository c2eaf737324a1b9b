"""Charts as the dashboard draws them: rows of (stacked) horizontal bars, laid out here, drawn as SVG by a template.

A chart is data first: the rows of its table (what its CSV holds, and what the page shows beside
the drawing) and the bars that draw them. The layout is plain arithmetic on a fixed 400-wide
view box, so the SVG scales to any screen without a script; every bar carries its number as
text, so nothing needs hovering to be read. Names and keys here are language-neutral: the
template translates titles, column headings and the few fixed row labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: The view box's width, the label column's, the room kept for a bar's number, one row's height, the margin.
#: Narrow on purpose: scaled to a 390-wide phone its 12-unit text stays near 10 pixels high.
WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW_HEIGHT, TOP = 400, 112, 96, 22, 6
BAR_HEIGHT = 15
#: The label's right edge, the text's baseline below a row's top, the gap between a bar and its number.
LABEL_END, BASELINE, GAP = LABEL_WIDTH - 6, 12, 4
#: Bar colours, each at least 4.5:1 against the white background (WCAG 1.4.11 asks 3:1 of graphics);
#: stacked segments are also parted by a white gap, so neighbours never rely on colour alone.
PALETTE = ("#1f5fa8", "#a3480a", "#1b7030", "#6a2c82", "#4d4d4d", "#8a5a00", "#0f6b73", "#a32b52")

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Segment:
    """A part of a bar: one series' value, drawn at `x` for `width` units of the view box."""

    series: int
    value: float
    x: float = 0.0
    width: float = 0.0


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a chart: its label, its segments (one unless stacked), and the number written after it."""

    label: str
    segments: tuple[Segment, ...]
    text: str
    link: str | None = None  # the tickets behind this row, when the queue page can show just them
    y: float = 0.0

    @property
    def total(self) -> float:
        """The bar's length in the chart's unit."""
        return sum(s.value for s in self.segments)

    @property
    def end(self) -> float:
        """Where the bar's number is written: just after its last segment."""
        last = self.segments[-1] if self.segments else Segment(0, 0.0, LABEL_WIDTH, 0.0)
        return round(max(last.x + last.width, LABEL_WIDTH) + GAP, 2)

    @property
    def baseline(self) -> float:
        """The baseline of the row's text."""
        return self.y + BASELINE


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart of the dashboard: its table (also its CSV), its bars and legend, and where its tickets are listed."""

    name: str  # its address: /dashboard/{name}.csv
    columns: tuple[str, ...]  # the table's and CSV's column keys
    rows: list[tuple[Cell, ...]]
    bars: list[Bar]
    tickets: str  # the queue page with the dashboard's filters
    series: tuple[str, ...] = ()  # the stacked series' names (a legend is drawn when there are several)
    unit: str = ""  # what a bar's number counts: "", "percent", "minutes"
    scale: float = field(default=0.0)  # the value a full-length bar stands for

    @property
    def height(self) -> int:
        """The view box's height: one row per bar, at least one (for the "no data" line)."""
        return TOP * 2 + ROW_HEIGHT * max(len(self.bars), 1)

    @property
    def width(self) -> int:
        """The view box's width."""
        return WIDTH

    @property
    def label_end(self) -> int:
        """Where the labels end (they are right-aligned there)."""
        return LABEL_END

    @property
    def bar_height(self) -> int:
        """A bar's thickness."""
        return BAR_HEIGHT

    def colour(self, series: int) -> str:
        """The colour of a series."""
        return PALETTE[series % len(PALETTE)]


def laid_out(
    name: str,
    columns: Sequence[str],
    rows: list[tuple[Cell, ...]],
    bars: Sequence[Bar],
    *,
    tickets: str,
    series: Sequence[str] = (),
    unit: str = "",
    scale: float | None = None,
) -> Chart:
    """A chart with its bars placed: each row below the last, segment after segment, scaled to the longest bar."""
    longest = scale if scale is not None else max((bar.total for bar in bars), default=0.0)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    placed = []
    for n, bar in enumerate(bars):
        x, segments = float(LABEL_WIDTH), []
        for segment in bar.segments:
            width = round(0.0 if longest <= 0 else room * segment.value / longest, 2)
            # Each part starts where the drawn (rounded) part before it ends, so rounding never opens a gap.
            segments.append(Segment(segment.series, segment.value, x, width))
            x = round(x + width, 2)
        placed.append(Bar(bar.label, tuple(segments), bar.text, bar.link, TOP + ROW_HEIGHT * n))
    return Chart(name, tuple(columns), rows, placed, tickets, tuple(series), unit, longest)


def bar(label: str, *values: float, text: str, link: str | None = None) -> Bar:
    """A bar of one or more stacked values (series 0, 1, ... in order), not yet placed."""
    return Bar(label, tuple(Segment(n, v) for n, v in enumerate(values)), text, link)


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, to one decimal; None of nothing."""
    return None if whole == 0 else round(100 * part / whole, 1)
