"""The interactive API documentation, `/docs` (Swagger UI) and `/redoc` (ReDoc), with every asset served from here.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN (and ReDoc's fonts from Google), so
on a network without it they are blank. These are the same pages (FastAPI's `get_swagger_ui_html`
and `get_redoc_html`) naming the copies of Swagger UI 5 and ReDoc 2 that the `fastapi-offline`
package ships, served under `DOCS_ASSETS`; the pages' CSP then allows scripts of this site only.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
#: The pages themselves (each gets the docs' CSP, which allows exactly its inline scripts).
DOCS_PAGES = frozenset({DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL})
#: Where the packaged scripts, style sheet and icon are served.
DOCS_ASSETS = "/docs-assets"
ASSET_DIRECTORY = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` on `app` (made with `docs_url=None, redoc_url=None`) and their assets."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=ASSET_DIRECTORY), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
