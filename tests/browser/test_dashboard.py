"""The supervisors' pages in the browser: the dashboard filtered and a chart's CSV downloaded, in English and
Chinese; a group's live board following a new ticket without a reload; axe; a phone's screen."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from tests.browser.conftest import (
    Site,
    add_person,
    assert_accessible,
    open_ticket,
    screenshot,
    sign_in,
    wait_for_projections,
)

ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
CATHY = Actor("cathy", ActorKind.REQUESTER, role=Role.CUSTOMER.value)
OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
#: The address after "Apply": the period shown (the last 30 days) and the group chosen.
FILTERED = re.compile(r"/dashboard\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d&group=support$")
# The pages' own Chinese, full-width punctuation included.
ZH_VOLUME_CSV = "下载 CSV (每日工单数（按渠道）)"  # noqa: RUF001
ZH_BOARD = "实时看板：support"  # noqa: RUF001


@pytest.fixture(scope="module")
def history(site: Site) -> Site:
    """A service level and a few more tickets through several channels: answered, solved and rated."""
    desk = site.services.desk
    terms = {"name": "Standard", "targets": {"first_response": 60, "resolution": 480}}
    desk.define_policy(tenant="acme", name="standard", position=1, terms=terms, by=OPERATOR, via="api")
    last = None
    for n, channel in enumerate(("email", "email", "phone", "chat", "web")):
        opened = desk.open_ticket(
            tenant="acme",
            title=f"Request {n} by {channel}",
            requester_id="cathy",
            group="support",
            by=CATHY,
            via=channel,
        )
        if n < 3:
            desk.assign(opened.ticket_id, assignee="ann", tenant="acme", by=ANN, via="web")
            last = desk.add_comment(opened.ticket_id, "Looking.", public=True, tenant="acme", by=ANN, via="web")
        if n < 2:
            desk.transition(opened.ticket_id, "solved", tenant="acme", by=ANN, via="web")
            last = desk.rate(opened.ticket_id, "good" if n == 0 else "bad", by=CATHY, via="web")
    assert last is not None
    wait_for_projections(site.services, last.position or 0)
    return site


def _supervisor(site: Site) -> str:
    name = f"sue{uuid.uuid4().hex[:6]}"
    add_person(site, name, name, Role.SUPERVISOR)
    return name


def _downloaded(page: Page, link_name: str) -> str:
    with page.expect_download() as waiting:
        page.get_by_role("link", name=link_name).click()
    download = waiting.value
    path = download.path()
    assert path is not None
    return Path(path).read_text(encoding="utf-8")


def test_a_supervisor_filters_the_dashboard_and_downloads_a_charts_csv(page: Page, history: Site) -> None:
    sign_in(page, history, _supervisor(history))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Tickets per day, by channel")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("textbox", name="Group").fill("support")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(FILTERED)
    expect(page.get_by_text("all groups")).to_have_count(0)
    expect(page.get_by_role("img", name="SLA compliance by policy")).to_be_visible()
    screenshot(page, "dashboard")

    rows = _downloaded(page, "Download CSV (Tickets per day, by channel)").splitlines()
    assert rows[0].split(",")[0] == "day"
    assert {"email", "phone", "chat", "web"} <= set(rows[0].split(","))
    assert sum(int(row.split(",")[-1]) for row in rows[1:]) == 8  # three seeded tickets of support, five more
    agents = _downloaded(page, "Download CSV (Agent load)").splitlines()
    assert agents[0] == "agent,open_now,solved,handle_median_minutes"
    assert any(row.startswith("ann,") for row in agents[1:])

    page.get_by_role("link", name="Tickets behind this chart").first.click()
    expect(page).to_have_url(f"{history.url}/?queue=groups&group=support")

    page.goto(f"{history.url}/dashboard?group=support")
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, nothing scrolls sideways
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "dashboard-phone")


def test_the_dashboard_in_chinese(page: Page, history: Site) -> None:
    sign_in(page, history, _supervisor(history))
    page.goto(f"{history.url}/language?lang=zh_CN&next=/dashboard")
    expect(page.get_by_role("heading", name="仪表板", level=1)).to_be_visible()
    page.locator("#filter-group").fill("support")
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(FILTERED)
    rows = _downloaded(page, ZH_VOLUME_CSV).splitlines()
    assert rows[0].split(",")[0] == "day"  # the file's columns are the same in every language
    assert_accessible(page)
    screenshot(page, "dashboard-zh-CN")


def test_the_board_follows_a_new_ticket_without_a_reload(page: Page, history: Site) -> None:
    sign_in(page, history, _supervisor(history))
    page.goto(f"{history.url}/board/support")
    expect(page.get_by_role("heading", name="Live board: support", level=1)).to_be_visible()
    before = int(page.locator('[data-count="unsolved"]').inner_text())
    assert_accessible(page)
    title = f"Board ticket {uuid.uuid4().hex[:6]}"  # opened at once: the stream sends what came after the page
    open_ticket(history, title, title)
    expect(page.get_by_role("link", name=title)).to_be_visible(timeout=10_000)
    expect(page.locator('[data-count="unsolved"]')).to_have_text(str(before + 1))
    screenshot(page, "board")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.goto(f"{history.url}/language?lang=zh_CN&next=/board/support")
    expect(page.get_by_role("heading", name=ZH_BOARD, level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-zh-CN-phone")
