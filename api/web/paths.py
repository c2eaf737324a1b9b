"""Which paths are web pages (HTML, session cookie) rather than the REST API (JSON, bearer keys)."""

from __future__ import annotations

#: Exact paths of web pages and form targets.
WEB_PATHS = frozenset(
    {"/", "/login", "/logout", "/language", "/new", "/new/suggestions", "/saved-views", "/dashboard", "/help"}
    | {"/me/location"}
)
#: The auditors' pages (api/web/audit_pages.py), beside the audit API's JSON under /audit.
AUDIT_PAGES = frozenset({"/audit", "/audit/verification", "/audit/checkpoint", "/audit/tickets", "/audit/export-file"})
#: Prefixes of web pages (a ticket's page, the admins' pages) and of the pages' own static files.
WEB_PREFIXES = ("/t/", "/static/", "/admin/", "/dashboard/", "/board/", "/audit/tickets/", "/help/", "/new/answered/")


def is_web_path(path: str) -> bool:
    """Whether `path` is served by the web pages (api/web/routes.py) or their static files."""
    return path in WEB_PATHS or path in AUDIT_PAGES or path.startswith(WEB_PREFIXES)
