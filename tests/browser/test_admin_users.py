"""The admins' "Users" page in the browser: an admin adds an agent, who signs in; then deactivates them."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from domain.access.policy import Role
from tests.browser.conftest import Site, add_person, assert_accessible, password, screenshot, sign_in


def test_an_admin_adds_an_agent_who_signs_in_and_is_then_deactivated(page: Page, browser: Browser, site: Site) -> None:
    boss = f"boss{uuid.uuid4().hex[:6]}"
    add_person(site, boss, boss, Role.ADMIN)
    sign_in(page, site, boss)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    assert_accessible(page)
    email, secret = f"new{uuid.uuid4().hex[:6]}@acme.example", password()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(secret)
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_label("Groups", exact=True).fill("support")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text(f"{email} was added")
    screenshot(page, "admin-users")

    newcomer = browser.new_context()
    try:
        theirs = newcomer.new_page()
        theirs.goto(f"{site.url}/login")
        theirs.get_by_label("Email").fill(email)
        theirs.get_by_label("Password").fill(secret)
        theirs.get_by_role("button", name="Sign in").click()
        expect(theirs.get_by_role("heading", level=1)).to_be_visible()
        expect(theirs).not_to_have_url(f"{site.url}/login")

        page.get_by_role("button", name=f"Deactivate {email}").click()
        expect(page.get_by_role("row", name=email)).to_contain_text("Deactivated")
        theirs.reload()
        expect(theirs).to_have_url(f"{site.url}/login?next=/")  # their session ended with the deactivation
    finally:
        newcomer.close()
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, nothing scrolls sideways
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
