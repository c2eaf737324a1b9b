"""An article's Markdown as HTML a page may show: rendered by markdown-it-py, then sanitised by nh3.

markdown-it-py renders CommonMark with raw HTML off (what an author types as HTML is shown as
text) and refuses `javascript:` and similar links; nh3 (ammonia's allow-list) is the second
line, so no script or event handler reaches a reader even if the renderer let one through.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt


@cache
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def article_html(markdown: str) -> str:
    """The sanitised HTML of an article's Markdown body."""
    return nh3.clean(_renderer().render(markdown), link_rel="noopener noreferrer nofollow")
