"""`/docs` and `/redoc` in the browser on a network with no other host: the operations are shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.browser.conftest import serve

#: The first request for the OpenAPI document builds it (seconds, on a busy machine), so the pages wait for it.
LOADING_MS = 60_000


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("docs")
    services = build_services(Settings(database_url=f"sqlite:///{folder / 'ledgerdesk.sqlite'}"))
    try:
        with serve(services) as url:
            yield url
    finally:
        services.close()


def offline(page: Page) -> list[str]:
    """Refuse every request to a host other than the loopback one; the refused addresses, for the test to check."""
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return refused


def test_swagger_ui_shows_the_operations_offline(page: Page, docs_site: str) -> None:
    refused = offline(page)
    page.goto(f"{docs_site}/docs")
    rotation = page.locator(".opblock-summary-path", has_text="/keys/{key_id}/rotation")
    expect(rotation).to_be_visible(timeout=LOADING_MS)
    assert refused == []


def test_redoc_shows_the_operations_offline(page: Page, docs_site: str) -> None:
    refused = offline(page)
    page.goto(f"{docs_site}/redoc")
    expect(page.get_by_role("heading", name="ledgerdesk", level=1)).to_be_visible(timeout=LOADING_MS)
    expect(page.locator("[data-section-id*='rotate_key']").first).to_be_attached()  # the operation's section
    assert refused == []
