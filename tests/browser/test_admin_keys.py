"""The admins' pages in the browser, in English and Chinese: an admin adds an agent, puts them in a group with
skills, issues an API key and sees its secret once; every page passes axe and fits a phone screen."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from domain.access.policy import Role
from tests.browser.conftest import Site, add_person, assert_accessible, password, screenshot, sign_in

#: What the pages say, per language, where the test looks for words.
WORDS = {
    "en": {"users": "Users", "groups": "Groups and agents", "keys": "API keys", "once": "shown this once"},
    "zh_CN": {"users": "用户", "groups": "组和坐席", "keys": "API 密钥", "once": "只显示这一次"},
}
PHONE = {"width": 390, "height": 844}


def fits_a_phone(page: Page) -> None:
    """At 390x844 nothing scrolls sideways; the page is back at its width afterwards."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], page.url
    if size is not None:
        page.set_viewport_size(size)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_an_admin_adds_an_agent_with_group_and_skills_and_issues_a_key_shown_once(
    page: Page, site: Site, language: str
) -> None:
    words, run = WORDS[language], uuid.uuid4().hex[:6]
    boss = f"boss{run}"
    add_person(site, boss, boss, Role.ADMIN)
    sign_in(page, site, boss)
    page.goto(f"{site.url}/language?lang={language}&next=/admin/users")
    expect(page.get_by_role("heading", name=words["users"], level=1)).to_be_visible()
    agent, group = f"newbie{run}", f"vpn{run}"
    add_agent(page, agent)
    page.get_by_role("navigation").get_by_role("link", name=words["groups"]).click()
    expect(page.get_by_role("heading", name=words["groups"], level=1)).to_be_visible()
    put_in_group_with_skills(page, agent, group, screenshot_name="admin-groups" if language == "en" else None)
    page.get_by_role("navigation").get_by_role("link", name=words["keys"]).click()
    expect(page.get_by_role("heading", name=words["keys"], level=1)).to_be_visible()
    robot = f"robot{run}"
    shot = "admin-keys" if language == "en" else None
    secret = issue_key_seen_once(page, robot, group, words["once"], screenshot_name=shot)
    key = site.services.keys.authenticate(secret)
    assert key is not None
    assert (key.actor.id, key.role, key.actor.groups) == (robot, Role.AGENT, frozenset({group}))


def add_agent(page: Page, agent: str) -> None:
    """On the Users page: a new agent acting as `agent`."""
    page.locator("#email").fill(f"{agent}@acme.example")
    page.locator("#password").fill(password())
    page.locator("#actor-id").fill(agent)
    page.locator("#role").select_option("agent")
    page.locator("form[action='/admin/users'] button[type=submit]").click()
    expect(page.get_by_role("row").filter(has_text=f"{agent}@acme.example")).to_be_visible()
    assert_accessible(page)
    fits_a_phone(page)


def put_in_group_with_skills(page: Page, agent: str, group: str, *, screenshot_name: str | None) -> None:
    """On the Groups page: a new group routed by skills, and `agent` in it with two skills."""
    page.locator("#group-name").fill(group)
    page.locator("#group-routing").select_option("skills")
    page.locator("form[action='/admin/groups'] button[type=submit]").click()
    page.locator("#agent-id").fill(agent)
    page.locator("#agent-groups").fill(group)
    page.locator("#agent-skills").fill("vpn:3, printers:1")
    page.locator("#agent-capacity").fill("5")
    page.locator("form[action='/admin/groups/agents'] button[type=submit]").click()
    row = page.locator("section[aria-labelledby='agents-heading'] tr").filter(has_text=agent)
    expect(row).to_contain_text(group)
    expect(row).to_contain_text("printers:1, vpn:3")
    member = page.locator("section[aria-labelledby='groups-heading'] tr").filter(has_text=group)
    expect(member).to_contain_text(agent)  # and a member of the group
    assert_accessible(page)
    if screenshot_name:
        screenshot(page, screenshot_name)
    fits_a_phone(page)


def issue_key_seen_once(page: Page, robot: str, group: str, once: str, *, screenshot_name: str | None) -> str:
    """On the Keys page: a key for `robot` limited to `group`; its secret shown once, gone on a reload."""
    page.locator("#key-actor").fill(robot)
    page.locator("#key-role").select_option("agent")
    page.locator("#key-groups").fill(group)
    page.locator("form[action='/admin/keys'] button[type=submit]").click()
    expect(page.get_by_role("status").filter(has_text=once)).to_be_visible()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("ldk_")
    expect(page.get_by_role("row").filter(has_text=robot)).to_be_visible()  # listed at once, without its secret
    assert_accessible(page)
    if screenshot_name:
        screenshot(page, screenshot_name)
    page.reload()
    expect(page.get_by_role("row").filter(has_text=robot)).to_be_visible()
    expect(page.locator("#new-secret")).to_have_count(0)
    assert secret not in page.content()
    fits_a_phone(page)
    return secret


def test_a_rotated_key_shows_its_new_secret_once_and_the_old_one_stops_working(page: Page, site: Site) -> None:
    run = uuid.uuid4().hex[:6]
    boss = f"boss{run}"
    add_person(site, boss, boss, Role.ADMIN)
    sign_in(page, site, boss, path="/login?next=/admin/keys")
    page.locator("#key-actor").fill(f"robot{run}")
    page.locator("form[action='/admin/keys'] button[type=submit]").click()
    old = page.locator("#new-secret").inner_text()
    key_id = old.split("_")[1]
    page.get_by_role("button", name=f"Rotate key {key_id}").click()
    expect(page.locator("#new-secret")).not_to_have_text(old)
    new = page.locator("#new-secret").inner_text()
    assert site.services.keys.authenticate(old) is None
    assert site.services.keys.authenticate(new) is not None
    page.get_by_role("button", name=f"Revoke key {key_id}").click()
    expect(page.get_by_role("row").filter(has_text=key_id)).not_to_contain_text("Live")
    assert site.services.keys.authenticate(new) is None
