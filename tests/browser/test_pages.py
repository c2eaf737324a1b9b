"""The first pages: an agent's queue, a customer's requests, one ticket; escaped, accessible, phone-sized."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from api.schemas import TicketPublic
from api.web.i18n import shown_moment
from tests.browser.conftest import Site, assert_accessible, screenshot, sign_in


def test_an_agent_sees_their_queue_and_opens_a_ticket(page: Page, site: Site) -> None:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    sign_in(page, site, "agent")
    mine = page.get_by_role("region", name="Assigned to me")
    expect(mine.get_by_role("link", name="Printer on fire")).to_be_visible()
    page.get_by_role("link", name="Unassigned", exact=True).click()
    unassigned = page.get_by_role("region", name="Unassigned in my groups")
    expect(unassigned.get_by_role("link", name="Dan cannot log in")).to_be_visible()
    expect(page.get_by_text("Invoice is wrong")).to_have_count(0)  # group billing: not the agent's
    assert_accessible(page)
    screenshot(page, "queue")
    assert page.evaluate("() => typeof htmx.version") == "string"  # the app's own script, under the pages' CSP
    page.get_by_role("link", name="Mine", exact=True).click()
    mine.get_by_role("link", name="Printer on fire").click()
    expect(page).to_have_url(f"{site.url}/t/{site.tickets['assigned']}")
    expect(page.get_by_role("heading", name="Printer on fire", level=1)).to_be_visible()
    expect(page.get_by_text("We are sending a technician.")).to_be_visible()
    expect(page.get_by_text("Secret: the printer is older than the office.")).to_be_visible()
    expect(page.get_by_text("Internal note", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "ticket")
    assert not [m for m in messages if "Content Security Policy" in m]


def test_an_agent_cannot_open_another_groups_ticket(page: Page, site: Site) -> None:
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    answer = page.goto(f"{site.url}/t/{site.tickets['billing']}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_text("Invoice is wrong")).to_have_count(0)


def test_a_customer_sees_only_their_requests_and_no_internal_notes(page: Page, site: Site) -> None:
    sign_in(page, site, "customer")
    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    expect(page.get_by_role("link", name="Printer on fire")).to_be_visible()
    expect(page.get_by_text("Dan cannot log in")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "requests")
    page.get_by_role("link", name="Printer on fire").click()
    expect(page.get_by_text("We are sending a technician.")).to_be_visible()
    expect(page.get_by_text("Secret: the printer")).to_have_count(0)
    expect(page.get_by_text("Internal note")).to_have_count(0)
    answer = page.goto(f"{site.url}/t/{site.tickets['dans']}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_text("Dan cannot log in")).to_have_count(0)


def test_a_script_in_a_title_shows_as_text(page: Page, site: Site) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    sign_in(page, site, "customer")
    link = page.get_by_role("link", name="<script>alert(1)</script> in my title")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("<script>alert(1)</script> in my title")
    assert alerts == []


def test_a_phone_sized_screen_needs_no_sideways_scrolling(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    for path in ("/", f"/t/{site.tickets['assigned']}", "/login"):
        page.goto(site.url + path)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390, (path, wide)
    page.goto(site.url + "/")
    screenshot(page, "queue-phone")


def test_dates_are_shown_in_the_users_time_zone(page: Page, site: Site) -> None:
    ticket = TicketPublic.from_domain(site.services.desk.get_ticket(site.tickets["assigned"]))
    shanghai = shown_moment(ticket.created_at, language="en", time_zone="Asia/Shanghai")  # the agent's zone
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    page.goto(f"{site.url}/t/{site.tickets['assigned']}")
    expect(page.locator(".facts dd").last).to_have_text(shanghai)
