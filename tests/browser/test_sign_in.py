"""Signing in and out of the web pages in a real browser: the form, its language, its refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from infrastructure.settings import Settings
from tests.browser.conftest import Site, assert_accessible, running, screenshot, sign_in


def test_an_agent_signs_in_and_lands_on_their_queue(page: Page, site: Site) -> None:
    page.goto(site.url + "/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "login")
    sign_in(page, site, "agent")
    expect(page).to_have_url(site.url + "/")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()


def test_the_sign_in_page_speaks_chinese_to_a_chinese_browser(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(site.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_label("电子邮件")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    person = site.people["agent"]
    page.get_by_label("电子邮件").fill(person.email)
    page.get_by_label("密码").fill(person.password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的队列")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "queue-zh-CN")
    context.close()


def test_the_language_switcher_changes_the_page_language(page: Page, site: Site) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Language").select_option("zh_CN")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page).to_have_url(site.url + "/login")


def test_a_wrong_password_shows_an_error_and_starts_no_session(page: Page, site: Site) -> None:
    user = site.services.users.find(site.people["agent"].email)
    assert user is not None
    before = site.services.users.sessions_of(user.user_id)
    page.goto(site.url + "/login")
    page.get_by_label("Email").fill(site.people["agent"].email)
    page.get_by_label("Password").fill("not-the-password-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or the password is not right.")
    assert site.services.users.sessions_of(user.user_id) == before
    assert not [c for c in page.context.cookies() if c["name"] == "ledgerdesk_session"]
    page.goto(site.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_the_session_cookie_is_http_only_and_same_site_lax(page: Page, site: Site) -> None:
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "ledgerdesk_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain http on loopback; https requests get Secure


def test_the_session_cookie_does_not_authenticate_the_api(page: Page, site: Site) -> None:
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    answer = page.request.get(site.url + "/tickets")
    assert answer.status == 401


def test_signing_out_ends_the_session(page: Page, site: Site) -> None:
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "ledgerdesk_session"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert site.services.users.session(cookie["value"]) is None
    page.context.add_cookies([{**cookie}])  # the old cookie, replayed, opens nothing
    page.goto(site.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_form_without_its_token_gets_a_readable_403(page: Page, site: Site) -> None:
    sign_in(page, site, "agent")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    page.locator("form[action='/logout'] input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(site.url + "/logout") as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    page.goto(site.url + "/")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()  # still signed in


def test_a_form_with_another_visitors_token_gets_403(page: Page, site: Site) -> None:
    page.goto(site.url + "/login")
    page.locator("input[name=csrf_token]").evaluate("input => { input.value = 'forged' }")
    page.get_by_label("Email").fill(site.people["agent"].email)
    page.get_by_label("Password").fill(site.people["agent"].password)
    with page.expect_response(site.url + "/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 403
    assert not [c for c in page.context.cookies() if c["name"] == "ledgerdesk_session"]


@pytest.fixture
def strict_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own whose sign-in allows three failures a minute (the others' allow many)."""
    folder = tmp_path_factory.mktemp("strict")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'ledgerdesk.sqlite'}",
        blob_dir=str(folder / "blobs"),
        projections_in_process=True,
        sign_in_failure_limit="3/minute",
    )
    yield from running(settings)


def test_sign_in_is_refused_for_a_while_after_repeated_failures(page: Page, strict_site: Site) -> None:
    person = strict_site.people["customer"]
    page.goto(strict_site.url + "/login")
    for _ in range(3):
        page.get_by_label("Email").fill(person.email)
        page.get_by_label("Password").fill("a-wrong-guess-of-a-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("The e-mail address or the password is not right.")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)  # even the right one, until the window passes
    with page.expect_response(strict_site.url + "/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert answer.value.headers["retry-after"].isdigit()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
