"""The admins' configuration pages in the browser, in English and Chinese: each at a phone's size, axe-clean.

An admin starts a workflow, adds a state and a transition as form rows and sees the version saved;
then an edit whose graph does not hold is refused with the domain's reason, the form kept as typed.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from domain.access.policy import Role
from tests.browser.conftest import Site, add_person, assert_accessible, screenshot, sign_in

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
        "refused": "工作流未保存：",  # noqa: RUF001  # the page's own colon
    },
}


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
