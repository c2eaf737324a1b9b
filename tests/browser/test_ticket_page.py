"""The ticket page at work: claim, reply, solve, rate; links and merges; live updates; Chinese; a phone; refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect

from domain.access.policy import Role
from domain.mail.threads import short_ref
from tests.browser.conftest import Site, add_person, assert_accessible, open_ticket, screenshot, sign_in


@pytest.fixture(scope="module", autouse=True)
def more_people(site: Site) -> None:
    """A second agent of group support, and an agent of group billing."""
    add_person(site, "bob", "bob", Role.AGENT, groups=["support"])
    add_person(site, "billing", "bill", Role.AGENT, groups=["billing"])


@pytest.fixture
def second(browser: Browser) -> Iterator[BrowserContext]:
    """A second browser, as a second person at another desk."""
    context = browser.new_context()
    yield context
    context.close()


def test_an_agent_claims_replies_and_solves_and_the_customer_rates(
    page: Page, second: BrowserContext, site: Site
) -> None:
    ticket = open_ticket(site, "scanner", "Scanner eats paper")
    sign_in(page, site, "agent")
    page.get_by_role("link", name="Unassigned", exact=True).click()
    page.get_by_role("region", name="Unassigned in my groups").get_by_role("link", name="Scanner eats paper").click()
    expect(page).to_have_url(f"{site.url}/t/{ticket}")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("dd.assignee")).to_have_text("ann")
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
    page.get_by_label("Message").fill("Please open tray 2 and remove the sheet.")
    page.get_by_label("Public reply (the requester sees it)").check()
    steps = FilePayload(name="steps.txt", mimeType="text/plain", buffer=b"1. Open tray 2.\n2. Remove the sheet.\n")
    page.get_by_label("Attach files").set_input_files(files=[steps])
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Please open tray 2 and remove the sheet.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "ticket-agent")
    page.get_by_role("group", name="Change status").get_by_role("button", name="Solved").click()
    expect(page.locator("dd.status")).to_have_text("Solved")
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(f"{site.url}/t/{ticket}/history")
    history = page.get_by_role("table")
    expect(history.get_by_text("Claimed").or_(history.get_by_text("Assigned")).first).to_be_visible()
    expect(history.get_by_role("cell", name="web").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "ticket-history")

    customer = second.new_page()
    sign_in(customer, site, "customer")
    customer.goto(f"{site.url}/t/{ticket}")
    expect(customer.get_by_text("Please open tray 2 and remove the sheet.")).to_be_visible()
    expect(customer.get_by_role("link", name="History")).to_have_count(0)
    attached = customer.get_by_role("link", name="steps.txt")
    expect(attached).to_be_visible()
    download = customer.request.get(site.url + (attached.get_attribute("href") or ""))
    assert download.status == 200
    assert download.body() == b"1. Open tray 2.\n2. Remove the sheet.\n"
    customer.get_by_label("Good").check()
    customer.get_by_label("Comment (optional)").fill("Works again, thanks.")
    customer.get_by_role("button", name="Rate").click()
    expect(customer.locator(".rating")).to_contain_text("Good")
    assert_accessible(customer)
    screenshot(customer, "ticket-customer")
    satisfaction = site.services.desk.get_ticket(ticket).satisfaction
    assert satisfaction is not None
    assert satisfaction["comment"] == "Works again, thanks."


def test_an_agent_links_two_tickets_and_merges_one_into_the_other(page: Page, site: Site) -> None:
    jammed = open_ticket(site, "jammed", "Copier jams on A3")
    again = open_ticket(site, "again", "Copier jams again")
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    page.goto(f"{site.url}/t/{again}")
    page.get_by_label("Link kind").select_option(label="Related to")
    page.get_by_label("Other ticket (id or short ref)").fill(f"#{short_ref(jammed)}")
    page.get_by_role("button", name="Link", exact=True).click()
    links = page.get_by_role("region", name="Related tickets")
    expect(links.get_by_role("link", name=f"#{short_ref(jammed)} Copier jams on A3")).to_be_visible()
    expect(links.get_by_text("Related to")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Merge into (id or short ref)").fill(short_ref(jammed))
    page.get_by_label("Reason for merging").fill("The same copier, reported twice.")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator("dd.status")).to_have_text("Closed")
    expect(page.locator(".merged-into")).to_contain_text("Copier jams on A3")
    screenshot(page, "ticket-merged")
    page.locator(".merged-into").get_by_role("link").click()
    expect(page).to_have_url(f"{site.url}/t/{jammed}")
    merged_in = page.locator(".merged-in")
    expect(merged_in.get_by_role("link", name=f"#{short_ref(again)} Copier jams again")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "ticket-links")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("table").get_by_text("The same copier, reported twice.").first).to_be_visible()
    assert site.services.desk.get_ticket(again).merged_into == str(jammed)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site.url}/t/{jammed}")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # the related tickets fit a phone


def test_a_second_agent_sees_a_change_live(page: Page, second: BrowserContext, site: Site) -> None:
    ticket = open_ticket(site, "live", "Monitor flickers")
    sign_in(page, site, "agent")
    page.goto(f"{site.url}/t/{ticket}")
    page.evaluate("() => { window.notReloaded = true }")
    refreshes: list[dict[str, str]] = []
    page.on("request", lambda request: refreshes.append(request.headers) if "part=" in request.url else None)
    bob = second.new_page()
    sign_in(bob, site, "bob")
    bob.goto(f"{site.url}/t/{ticket}")
    bob.get_by_role("button", name="Assign to me").click()
    expect(bob.locator("dd.assignee")).to_have_text("bob")
    expect(page.locator("dd.assignee")).to_have_text("bob", timeout=10_000)  # no reload on Ann's side
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
    bob.get_by_label("Message").fill("Cable swapped.")
    bob.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Cable swapped.")).to_be_visible(timeout=10_000)
    assert page.evaluate("() => window.notReloaded") is True
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert refreshes
    assert all(headers.get("x-csrf-token") == token for headers in refreshes)  # htmx sends the form token


def test_the_whole_round_in_chinese(page: Page, second: BrowserContext, site: Site) -> None:
    ticket = open_ticket(site, "chinese", "键盘失灵")
    sign_in(page, site, "agent")
    page.goto(f"{site.url}/language?lang=zh_CN&next=/t/{ticket}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="分配给我").click()
    expect(page.locator("dd.assignee")).to_have_text("ann")
    page.get_by_label("消息").fill("已为您更换键盘。")
    page.get_by_role("button", name="发送").click()
    expect(page.get_by_text("已为您更换键盘。")).to_be_visible()
    page.get_by_role("group", name="更改状态").get_by_role("button", name="已解决").click()
    expect(page.locator("dd.status")).to_have_text("已解决")
    screenshot(page, "ticket-zh-CN")
    page.get_by_role("link", name="历史").click()
    expect(page.get_by_role("columnheader", name="渠道")).to_be_visible()
    assert_accessible(page)
    customer = second.new_page()
    sign_in(customer, site, "customer")
    customer.goto(f"{site.url}/language?lang=zh_CN&next=/t/{ticket}")
    expect(customer.get_by_text("已为您更换键盘。")).to_be_visible()
    customer.get_by_label("满意", exact=True).check()
    customer.get_by_role("button", name="提交评价").click()
    expect(customer.locator(".rating")).to_contain_text("满意")


def test_a_refused_move_is_explained_and_records_nothing(page: Page, site: Site) -> None:
    ticket = open_ticket(site, "refused", "Mouse double-clicks")
    sign_in(page, site, "agent")
    page.goto(f"{site.url}/t/{ticket}")
    version = site.services.desk.get_ticket(ticket).version
    moves = page.get_by_role("group", name="Change status")
    expect(moves.get_by_role("button", name="Closed")).to_have_count(0)  # the workflow does not allow it from here
    # A form made elsewhere (or a stale page) asks for a move the workflow does not allow now.
    page.evaluate("() => { document.querySelector('form.moves button[name=to]').value = 'closed' }")
    moves.get_by_role("button").first.click()
    expect(page.get_by_role("alert")).to_have_text("The ticket cannot move to that status from where it is now.")
    assert site.services.desk.get_ticket(ticket).version == version
    assert_accessible(page)


def test_a_form_without_its_token_is_refused(page: Page, site: Site) -> None:
    ticket = open_ticket(site, "token", "Headset hums")
    sign_in(page, site, "agent")
    page.goto(f"{site.url}/t/{ticket}")
    version = site.services.desk.get_ticket(ticket).version
    page.evaluate("() => document.querySelector('form[action$=\"/claim\"] input[name=csrf_token]').remove()")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    assert site.services.desk.get_ticket(ticket).version == version


def test_an_agent_of_another_group_gets_not_found(page: Page, site: Site) -> None:
    ticket = open_ticket(site, "support-only", "Laptop battery swells")
    sign_in(page, site, "billing")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    for path in (f"/t/{ticket}", f"/t/{ticket}/history", f"/t/{ticket}/live"):
        answer = page.goto(site.url + path)
        assert answer is not None
        assert answer.status == 404, path
    expect(page.get_by_text("Laptop battery swells")).to_have_count(0)


def test_the_ticket_page_fits_a_phone(page: Page, site: Site) -> None:
    ticket = open_ticket(site, "phone", "Phone cannot reach the VPN with a rather long title that wraps")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    for path in (f"/t/{ticket}", f"/t/{ticket}/history"):
        page.goto(site.url + path)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390, (path, wide)
    page.goto(f"{site.url}/t/{ticket}")
    screenshot(page, "ticket-phone")
