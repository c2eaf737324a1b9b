"""The portal's "New request": a customer submits a request with a file, and an agent finds it unassigned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, assert_accessible, screenshot, sign_in

TICKET_URL = re.compile(r"/t/([0-9a-f-]{36})$")


def submit(page: Page, title: str, *, description: str = "", files: Sequence[tuple[str, bytes, str]] = ()) -> None:
    """Fill in the New request form (in English) and send it."""
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    if files:
        page.get_by_label("Attachments").set_input_files(
            [{"name": name, "mimeType": kind, "buffer": data} for name, data, kind in files]
        )
    page.get_by_role("button", name="Send request").click()


def test_a_customer_submits_a_request_with_a_file_and_an_agent_finds_it_unassigned(page: Page, site: Site) -> None:
    sign_in(page, site, "customer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    expect(page.get_by_role("heading", name="New request", level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "new-request")
    submit(page, "Scanner jams on page two", description="Since Monday.", files=[("jam.txt", b"jam\n", "text/plain")])
    expect(page).to_have_url(TICKET_URL)
    found = TICKET_URL.search(page.url)
    assert found is not None
    ticket = site.services.desk.get_ticket(uuid.UUID(found.group(1)))
    assert ticket.requester_id == "cathy"
    assert [a["name"] for c in ticket.comments for a in c.attachments] == ["jam.txt"]
    expect(page.get_by_role("heading", name="Scanner jams on page two", level=1)).to_be_visible()
    page.get_by_role("link", name="My requests").click()
    expect(page.get_by_role("link", name="Scanner jams on page two")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, "agent")
    page.get_by_role("link", name="Unassigned", exact=True).click()
    queue = page.get_by_role("region", name="Unassigned in my groups")
    expect(queue.get_by_role("link", name="Scanner jams on page two")).to_be_visible()


def test_a_refused_file_says_why_and_opens_nothing(page: Page, site: Site) -> None:
    before = site.services.desk.recorder.max_notification_id()
    sign_in(page, site, "customer", path="/login?next=/new")
    program = ("setup.exe", b"MZ\x90\x00" + bytes(300), "application/octet-stream")
    submit(page, "Please install this", files=[program])
    expect(page.get_by_role("alert")).to_contain_text("Files of the type of setup.exe are not accepted.")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was sent")
    expect(page.get_by_label("Title")).to_have_value("Please install this")
    assert_accessible(page)
    assert site.services.desk.recorder.max_notification_id() == before


def test_a_request_posted_without_its_form_token_is_refused(page: Page, site: Site) -> None:
    before = site.services.desk.recorder.max_notification_id()
    sign_in(page, site, "customer", path="/login?next=/new")
    page.evaluate("() => document.querySelector('form[action=\"/new\"] input[name=csrf_token]').remove()")
    submit(page, "Forged request")
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    assert site.services.desk.recorder.max_notification_id() == before


def test_a_customer_does_not_see_another_customers_request(page: Page, site: Site) -> None:
    sign_in(page, site, "other", path="/login?next=/new")
    submit(page, "Dan's private matter")
    expect(page).to_have_url(TICKET_URL)
    private = page.url
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, "customer")
    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    expect(page.get_by_text("Dan's private matter")).to_have_count(0)
    page.goto(site.url + "/?queue=groups")  # a queue's address shows a customer their own requests only
    expect(page.get_by_text("Dan's private matter")).to_have_count(0)
    answer = page.goto(private)
    assert answer is not None
    assert answer.status == 404


def test_a_chinese_customer_submits_a_request_on_a_phone(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    person = site.people["customer"]
    page.goto(site.url + "/login?next=/new")
    page.get_by_label("电子邮件").fill(person.email)
    page.get_by_label("密码").fill(person.password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="新建请求", level=1)).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "new-request-zh-CN-phone")
    page.get_by_label("标题").fill("打印机卡纸")
    page.get_by_label("描述").fill("第二页总是卡住。")
    program = {"name": "程序.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + bytes(64)}
    page.get_by_label("附件").set_input_files([program])
    page.get_by_role("button", name="提交请求").click()
    expect(page.get_by_role("alert")).to_contain_text("不接受 程序.exe 这种类型的文件")
    page.get_by_label("附件").set_input_files([])
    page.get_by_role("button", name="提交请求").click()
    expect(page).to_have_url(TICKET_URL)
    expect(page.get_by_role("heading", name="打印机卡纸", level=1)).to_be_visible()
    page.get_by_role("link", name="我的请求").click()
    expect(page.get_by_role("link", name="打印机卡纸")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()
