# ruff: noqa: RUF001  # the Chinese pages use full-width punctuation
"""The admins' configuration pages in the browser, in English and Chinese: each at a phone's size, axe-clean.

An admin starts a workflow, adds a state and a transition as form rows and sees the version saved;
then an edit whose graph does not hold is refused with the domain's reason, the form kept as typed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from domain.access.policy import Role
from infrastructure.settings import Settings
from tests.browser.conftest import Site, add_person, assert_accessible, open_ticket, running, screenshot, sign_in
from tests.support.receiver import Receiver

#: Webhooks go out at once, to loopback receivers (allowed here, never by default).
WEBHOOKS_AT_ONCE = {
    "webhook_allowlist": "127.0.0.0/8",
    "webhook_poll_seconds": 0.05,
    "webhook_retry_base_seconds": 0.2,
    "webhook_retry_max_seconds": 1.0,
}

#: The words of the pages each test reads, in each language.
WORDS = {
    "en": {
        "workflows": "Workflows",
        "new": "New workflow",
        "name": "Name",
        "start": "Start editing",
        "state": "State",
        "state_name": "State name",
        "category": "Category",
        "add_state": "Add state",
        "transition": "Transition",
        "from": "From",
        "to": "To",
        "add_transition": "Add transition",
        "save": "Save workflow",
        "saved": "Saved as version 1.",
        "refused": "The workflow was not saved:",
        "sla": "Service levels",
        "new_calendar_name": "New calendar's name",
        "new_calendar": "New calendar",
        "zone": "IANA time zone name",
        "holiday": "Holiday",
        "date": "Date",
        "holiday_name": "Holiday name",
        "save_calendar": "Save calendar",
        "calendar_saved": "was saved as version 1.",
        "new_policy_name": "New policy's name",
        "new_policy": "New policy",
        "position": "Position",
        "calendar": "Calendar",
        "first_response": "First response",
        "resolution": "Resolution",
        "save_policy": "Save policy",
        "opened_at": "A ticket opened at",
        "priority": "with priority",
        "show": "Show due times",
        "applies": "applies, counting in",
        "webhooks": "Webhooks",
        "url": "Address (URL)",
        "event_types": "Event types",
        "add_endpoint": "Add endpoint",
        "redeliver": "Redeliver",
        "redelivered": "The delivery is attempted again now.",
        "stored": "Stored it: on to the endpoint's page",
    },
    "zh_CN": {
        "workflows": "工作流",
        "new": "新建工作流",
        "name": "名称",
        "start": "开始编辑",
        "state": "状态",
        "state_name": "状态名称",
        "category": "类别",
        "add_state": "添加状态",
        "transition": "流转",
        "from": "从",
        "to": "到",
        "add_transition": "添加流转",
        "save": "保存工作流",
        "saved": "已保存为第 1 版。",
        "refused": "工作流未保存：",
        "sla": "服务级别",
        "new_calendar_name": "新日历名称",
        "new_calendar": "新建日历",
        "zone": "IANA 时区名称",
        "holiday": "假日",
        "date": "日期",
        "holiday_name": "假日名称",
        "save_calendar": "保存日历",
        "calendar_saved": "已保存为第 1 版。",
        "new_policy_name": "新策略名称",
        "new_policy": "新建策略",
        "position": "顺序",
        "calendar": "日历",
        "first_response": "首次响应",
        "resolution": "解决",
        "save_policy": "保存策略",
        "opened_at": "工单创建时间",
        "priority": "优先级",
        "show": "显示到期时间",
        "applies": "计时",
        "webhooks": "Webhook",
        "url": "地址（URL）",
        "event_types": "事件类型",
        "add_endpoint": "添加端点",
        "redeliver": "重新投递",
        "redelivered": "正在重新尝试投递。",
        "stored": "已保存密钥：前往端点页面",
    },
}


@pytest.fixture(scope="module")
def site(site_settings: Settings) -> Iterator[Site]:
    """The seeded site of the module, on each SQL backend, sending webhooks."""
    sites = running(site_settings.model_copy(update=WEBHOOKS_AT_ONCE))
    made = next(sites)
    made.services.start_webhooks()
    yield made
    next(sites, None)  # the site stops


def signed_in_admin(page: Page, site: Site, language: str) -> None:
    """A new admin of acme, signed in, the pages in `language`."""
    boss = f"boss{uuid.uuid4().hex[:6]}"
    add_person(site, boss, boss, Role.ADMIN)
    sign_in(page, site, boss)
    page.goto(f"{site.url}/language?lang={language}&next=/")


def on_a_phone(page: Page) -> None:
    """At 390 by 844 the page as it is now scrolls nowhere sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_an_admin_builds_a_workflow_and_sees_a_bad_graph_refused_with_the_reason(
    page: Page, site: Site, language: str
) -> None:
    w = WORDS[language]
    signed_in_admin(page, site, language)
    page.get_by_role("navigation").get_by_role("link", name=w["workflows"], exact=True).click()
    expect(page.get_by_role("heading", name=w["workflows"], level=1)).to_be_visible()
    assert_accessible(page)
    name = f"hardware_{language.lower()}_{uuid.uuid4().hex[:4]}"
    new = page.locator("form[action='/admin/workflows/new']")
    new.get_by_label(w["name"]).fill(name)
    new.get_by_role("button", name=w["start"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    states = page.get_by_role("group", name=w["state"], exact=True)
    expect(states).to_have_count(2)  # "new", and one blank row
    page.get_by_role("button", name=w["add_state"]).click()
    expect(states).to_have_count(3)  # one more blank row, added in place
    states.nth(1).get_by_label(w["state_name"]).fill("in_repair")
    states.nth(1).get_by_label(w["category"]).select_option("open")
    states.nth(2).get_by_label(w["state_name"]).fill("fixed")
    states.nth(2).get_by_label(w["category"]).select_option("solved")
    moves = page.get_by_role("group", name=w["transition"], exact=True)
    moves.last.get_by_label(w["from"]).fill("new")
    moves.last.get_by_label(w["to"], exact=True).fill("in_repair")
    page.get_by_role("button", name=w["add_transition"]).click()
    expect(moves).to_have_count(2)
    moves.last.get_by_label(w["from"]).fill("in_repair")
    moves.last.get_by_label(w["to"], exact=True).fill("fixed")
    page.get_by_role("button", name=w["save"]).click()
    expect(page.get_by_role("status")).to_have_text(w["saved"])
    expect(states.nth(1).get_by_label(w["state_name"])).to_have_value("in_repair")
    published = site.services.desk.workflow("acme", name)
    assert set(published.lifecycle.states) == {"new", "in_repair", "fixed"}
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-workflow")

    moves.last.get_by_label(w["from"]).fill("fixed")  # the blank row: a move out of a solved state is fine ...
    moves.last.get_by_label(w["to"], exact=True).fill("gone")  # ... to a state there is not, is not
    page.get_by_role("button", name=w["save"]).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(w["refused"])
    expect(alert).to_contain_text("'gone', not a state of the workflow")
    expect(moves.nth(2).get_by_label(w["to"], exact=True)).to_have_value("gone")  # kept as typed
    assert site.services.desk.workflow("acme", name).version == 1
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-workflow-refused")
    on_a_phone(page)


@pytest.mark.parametrize(("language", "priority"), [("en", "urgent"), ("zh_CN", "high")])
def test_an_admin_sets_a_calendar_and_a_policy_and_previews_the_due_times(
    page: Page, site: Site, language: str, priority: str
) -> None:
    w = WORDS[language]
    signed_in_admin(page, site, language)
    page.get_by_role("navigation").get_by_role("link", name=w["sla"], exact=True).click()
    expect(page.get_by_role("heading", name=w["sla"], level=1)).to_be_visible()
    assert_accessible(page)
    calendar, policy = f"office_{priority}", f"fast_{priority}"
    page.get_by_label(w["new_calendar_name"]).fill(calendar)
    page.get_by_role("button", name=w["new_calendar"], exact=True).click()
    page.get_by_label(w["zone"]).fill("Europe/Berlin")  # Monday to Friday, 09:00 to 17:00, are filled in
    holiday = page.get_by_role("group", name=w["holiday"], exact=True).last
    holiday.get_by_label(w["date"], exact=True).fill("2026-12-25")
    holiday.get_by_label(w["holiday_name"]).fill("Christmas")
    assert_accessible(page)
    page.get_by_role("button", name=w["save_calendar"]).click()
    expect(page.get_by_role("status")).to_contain_text(w["calendar_saved"])

    page.get_by_label(w["new_policy_name"]).fill(policy)
    page.get_by_role("button", name=w["new_policy"], exact=True).click()
    page.get_by_label(w["position"], exact=True).fill("1")
    page.get_by_label(w["calendar"], exact=True).select_option(calendar)
    page.get_by_role("checkbox", name=priority, exact=True).check()
    page.get_by_label(w["first_response"], exact=True).fill("60")
    page.get_by_label(w["resolution"], exact=True).fill("480")
    assert_accessible(page)
    page.get_by_role("button", name=w["save_policy"]).click()
    expect(page.get_by_role("status")).to_contain_text(w["calendar_saved"])

    # Friday 4 December 2026, 16:30 in the admin's time zone (UTC) is after hours in Berlin: Monday 09:00 on.
    page.get_by_label(w["opened_at"]).fill("2026-12-04T16:30")
    page.get_by_label(w["priority"], exact=True).select_option(priority)
    page.get_by_role("button", name=w["show"]).click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text(policy)
    expect(preview).to_contain_text(w["applies"])
    expect(preview.locator("time[datetime='2026-12-07T09:00:00+00:00']")).to_have_count(1)  # first response
    expect(preview.locator("time[datetime='2026-12-07T16:00:00+00:00']")).to_have_count(1)  # resolution
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-sla-preview")
    on_a_phone(page)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_an_admin_adds_a_webhook_reads_its_delivery_log_and_redelivers(page: Page, site: Site, language: str) -> None:
    w = WORDS[language]
    receiver = Receiver().start()
    try:
        signed_in_admin(page, site, language)
        page.get_by_role("navigation").get_by_role("link", name=w["webhooks"], exact=True).click()
        expect(page.get_by_role("heading", name=w["webhooks"], level=1)).to_be_visible()
        assert_accessible(page)
        page.get_by_label(w["url"]).fill(receiver.url)
        page.get_by_label(w["event_types"], exact=True).fill("Ticket.Opened")
        page.get_by_role("button", name=w["add_endpoint"]).click()
        secret = page.locator("#webhook-secret")
        expect(secret).to_contain_text("whsec_")
        receiver.secrets.append(secret.inner_text().strip())
        open_ticket(site, f"hooked-{language}", f"Webhook test {language}")
        deadline = time.monotonic() + 30
        while not receiver.received:
            assert time.monotonic() < deadline, "nothing was delivered"
            time.sleep(0.05)
        page.get_by_role("link", name=w["stored"]).click()  # the endpoint's page: the secret is gone for good
        expect(secret).to_have_count(0)
        redeliver = page.get_by_role("button", name=f"{w['redeliver']} Ticket.Opened")
        row = page.get_by_role("row").filter(has=redeliver)
        expect(row).to_contain_text("delivered")
        expect(row).to_contain_text("204")
        assert_accessible(page)
        redeliver.click()
        expect(page.get_by_role("status")).to_have_text(w["redelivered"])
        while len(receiver.received) < 2:
            assert time.monotonic() < deadline, "the redelivery did not arrive"
            time.sleep(0.05)
        assert receiver.received[1].id == receiver.received[0].id  # the same webhook-id again
        page.reload()
        expect(page.get_by_role("row").filter(has=redeliver)).to_contain_text("2")  # attempts
        if language == "en":
            screenshot(page, "admin-webhook-deliveries")
        on_a_phone(page)
    finally:
        receiver.stop()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_mailboxes_schedules_and_rules_pages_save_their_forms_and_fit_a_phone(
    page: Page, site: Site, language: str
) -> None:
    signed_in_admin(page, site, language)
    suffix = language.lower().replace("_", "-")

    page.goto(f"{site.url}/admin/mailboxes")
    page.locator("#mailbox-address").fill(f"help-{suffix}@acme.example")
    page.locator("#mailbox-group").fill("support")
    page.locator("form[action='/admin/mailboxes'] button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text(f"help-{suffix}@acme.example")
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-mailboxes")
    on_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{site.url}/admin/schedules/inspection-{suffix}")
    page.locator("#title").fill("Weekly inspection")
    page.locator("#rrule").fill("FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0")
    page.locator("#timezone").fill("Asia/Shanghai")
    page.locator("#start").fill("2026-01-01T00:00")
    page.locator("#t-title").fill("Server-room inspection")
    page.locator("#t-requester").fill("facilities")
    page.locator("form.editor button[type=submit]").click()
    expect(page.locator("#next-occurrences li")).to_have_count(5)
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-schedule")
    on_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{site.url}/admin/rules/macros/thanks-{suffix}")
    page.locator("#rule-title").fill("Thanks")
    page.locator("#rule-actions").fill('[{"add_note": "Thank you"}')  # one bracket short
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_role("alert")).to_contain_text("actions: not JSON (line 1")
    expect(page.locator("#rule-actions")).to_have_value('[{"add_note": "Thank you"}')
    page.locator("#rule-actions").fill('[{"add_note": "Thank you"}]')
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_role("status")).to_be_visible()
    assert site.services.desk.macro("acme", f"thanks-{suffix}").title == "Thanks"
    assert_accessible(page)
    if language == "en":
        screenshot(page, "admin-rule")
    on_a_phone(page)
