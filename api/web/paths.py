"""Which paths are web pages (HTML, session cookie) rather than the REST API (JSON, bearer keys)."""

from __future__ import annotations

#: Exact paths of web pages and form targets.
WEB_PATHS = frozenset({"/", "/login", "/logout", "/language", "/new", "/saved-views", "/dashboard"})
#: Prefixes of web pages (a ticket's page, the admins' pages) and of the pages' own static files.
WEB_PREFIXES = ("/t/", "/static/", "/admin/", "/dashboard/", "/board/")


def is_web_path(path: str) -> bool:
    """Whether `path` is served by the web pages (api/web/routes.py) or their static files."""
    return path in WEB_PATHS or path.startswith(WEB_PREFIXES)
