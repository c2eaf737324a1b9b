"""A message's body as text, and its HTML sanitised with nh3 (ammonia's allow-list) for display.

The text is the `text/plain` part when there is one (`multipart/alternative` offers both); else
the sanitised HTML read as text: block elements start lines, scripts and styles say nothing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_BLOCKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"})
_SILENT = frozenset({"script", "style", "head", "title"})
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitised_html(html: str) -> str:
    """The HTML with everything that could run, track or restyle the page taken out."""
    return nh3.clean(html)


def html_as_text(html: str) -> str:
    """The text a reader sees in (sanitised) HTML, a line per block."""
    reader = _TextReader()
    reader.feed(sanitised_html(html))
    reader.close()
    text = "".join(reader.parts)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class _TextReader(HTMLParser):
    """Collects the text of HTML, breaking lines at block elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._silent = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SILENT:
            self._silent += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SILENT:
            self._silent = max(0, self._silent - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._silent:
            self.parts.append(data)
