"""The agents' queue page: four queues sorted by SLA due with a countdown, filters, search, saved views, j/k keys."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from tests.browser.conftest import OPERATOR, Site, assert_accessible, screenshot, sign_in, wait_for_projections

ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)


@pytest.fixture(scope="module")
def queued(site: Site) -> dict[str, uuid.UUID]:
    """Two SLA policies (urgent tickets are at risk from the start) and tickets of group support under them."""
    desk, how = site.services.desk, {"by": OPERATOR, "via": "cli", "tenant": "acme"}
    urgent = {"conditions": {"priorities": ["urgent"]}, "targets": {"resolution": 30}, "warning_minutes": 60}
    desk.define_policy(name="urgent", position=1, terms=urgent, **how)
    desk.define_policy(name="standard", position=2, terms={"targets": {"resolution": 480}}, **how)
    acting: dict[str, Any] = {"by": ANN, "via": "web", "tenant": "acme", "requester_id": "cathy", "group": "support"}
    tickets = {
        "router": desk.open_ticket(title="Router down", priority="high", tags=["network"], **acting).ticket_id,
        "mouse": desk.open_ticket(title="Mouse broken", priority="low", tags=["hardware"], **acting).ticket_id,
        "flood": desk.open_ticket(title="Server room flooded", priority="urgent", **acting).ticket_id,
    }
    last = desk.open_ticket(title="Monitor flickers", **acting)
    tickets["monitor"] = last.ticket_id
    wait_for_projections(site.services, last.position or 0)
    return tickets


def rows(page: Page) -> list[str]:
    """The titles of the queue's rows, top to bottom."""
    return page.locator("#queue tbody tr td:first-child a").all_inner_texts()


def test_a_queue_is_sorted_by_sla_due_with_a_countdown(page: Page, site: Site, queued: dict[str, uuid.UUID]) -> None:
    sign_in(page, site, "agent")
    page.get_by_role("link", name="My groups", exact=True).click()
    expect(page.get_by_role("region", name="Tickets of my groups")).to_be_visible()
    titles = rows(page)
    assert titles[:4] == ["Server room flooded", "Router down", "Mouse broken", "Monitor flickers"], titles
    first = page.locator("#queue tbody tr").first
    expect(first.locator(".countdown.at-risk")).to_have_text(re.compile(r"^in (29|30) minutes$"))
    expect(page.locator("#queue tbody tr", has_text="Router down").locator(".countdown")).to_have_text(
        re.compile(r"^in [78] hours$")
    )
    expect(page.get_by_text("Invoice is wrong")).to_have_count(0)  # group billing: not the agent's
    assert_accessible(page)
    screenshot(page, "queue-groups")
    page.get_by_role("link", name="SLA at risk", exact=True).click()
    expect(page.get_by_role("region", name="SLA at risk")).to_be_visible()
    assert rows(page) == ["Server room flooded"]


def test_filters_search_and_a_saved_view(page: Page, site: Site, queued: dict[str, uuid.UUID]) -> None:
    sign_in(page, site, "agent")
    page.get_by_role("link", name="Unassigned", exact=True).click()
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Router down")).to_be_visible()
    assert rows(page) == ["Router down"]
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Tag").fill("hardware")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Mouse broken")).to_be_visible()
    assert rows(page) == ["Mouse broken"]
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("searchbox", name="Search titles").fill("flood")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Server room flooded")).to_be_visible()
    assert rows(page) == ["Server room flooded"]
    page.get_by_label("Name of this view").fill("Flood watch")
    page.get_by_role("button", name="Save view").click()
    views = page.get_by_role("region", name="Saved views")
    expect(views.get_by_role("link", name="flood-watch")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Mine", exact=True).click()
    expect(page.get_by_role("region", name="Assigned to me")).to_be_visible()
    page.get_by_role("region", name="Saved views").get_by_role("link", name="flood-watch").click()
    expect(page.get_by_role("region", name="Unassigned in my groups")).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search titles")).to_have_value("flood")
    assert rows(page) == ["Server room flooded"]
    page.get_by_label("Name of this view").fill("flood-watch")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("alert")).to_have_text("A saved view of that name already exists. Choose another name.")


def test_j_and_k_move_the_selection_and_enter_opens_the_ticket(
    page: Page, site: Site, queued: dict[str, uuid.UUID]
) -> None:
    sign_in(page, site, "agent")
    page.get_by_role("link", name="My groups", exact=True).click()
    expect(page.get_by_role("region", name="Tickets of my groups")).to_be_visible()
    page.wait_for_load_state()  # the keys' script is deferred: on a loaded host it may run after the list shows
    selected = page.locator("#queue tr.selected")
    page.keyboard.press("j")
    expect(selected).to_have_count(1)
    expect(selected).to_contain_text("Server room flooded")
    expect(selected.get_by_role("link")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(selected).to_contain_text("Mouse broken")
    page.keyboard.press("k")
    expect(selected).to_contain_text("Router down")
    shadow = selected.evaluate("row => getComputedStyle(row).boxShadow")
    assert shadow != "none"  # the selection is visible, not only focused
    page.get_by_role("searchbox", name="Search titles").press("j")  # typing in a field moves nothing
    expect(selected).to_contain_text("Router down")
    page.keyboard.press("Escape")
    selected.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/t/{queued['router']}")


def test_the_queue_in_chinese_on_a_phone(browser: Browser, site: Site, queued: dict[str, uuid.UUID]) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    person = site.people["agent"]
    page.goto(site.url + "/login")
    page.get_by_label("电子邮件").fill(person.email)
    page.get_by_label("密码").fill(person.password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的队列")).to_be_visible()
    page.get_by_role("link", name="我的组", exact=True).click()
    expect(page.get_by_role("region", name="我所在组的工单")).to_be_visible()
    at_risk = page.locator("#queue tbody tr").first.locator(".countdown")
    expect(at_risk).to_have_text(re.compile(r"^(29|30)分钟后$"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "queue-groups-zh-CN-phone")
    page.get_by_label("优先级").select_option("urgent")
    page.get_by_role("button", name="应用").click()
    expect(page.get_by_role("link", name="Server room flooded")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()
