"""An agent shares their position from the phone workspace, for nearest routing (docs/field-service.md)."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from domain.actors import Actor, ActorKind
from tests.browser.conftest import Site, assert_accessible, screenshot

ADMIN = Actor("admin", ActorKind.SYSTEM, role="admin")
SHANGHAI = {"latitude": 31.2304, "longitude": 121.4737}


def test_an_agent_shares_their_position_from_a_phone_in_chinese(browser: Browser, site: Site) -> None:
    desk = site.services.desk
    desk.define_agent(tenant="acme", agent="ann", groups=[], skills={}, capacity=5, available=True, by=ADMIN, via="cli")
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, geolocation=SHANGHAI, permissions=["geolocation"]
    )
    page = context.new_page()
    person = site.people["agent"]
    page.goto(site.url + "/login")
    page.get_by_label("电子邮件").fill(person.email)
    page.get_by_label("密码").fill(person.password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="共享我的位置").click()
    expect(page.get_by_role("heading", name="我的位置", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("31.23040, 121.47370")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "location-shared-zh-CN-phone")
    directory = desk.directory("acme")
    assert directory is not None
    place = directory.places["ann"]["current"]
    assert (place["latitude"], place["longitude"]) == (SHANGHAI["latitude"], SHANGHAI["longitude"])
    context.close()


def test_without_the_browsers_position_nothing_is_shared(browser: Browser, site: Site) -> None:
    context = browser.new_context()  # no geolocation permission: the browser refuses, the page says so
    page = context.new_page()
    person = site.people["agent"]
    page.goto(site.url + "/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Share my location").click()
    expect(page.locator("[data-share-status]")).to_contain_text("allow this site to know your location")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()  # still on the queue: nothing posted
    context.close()
