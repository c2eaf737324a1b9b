"""The auditors' pages in the browser: the chain verified, a ticket's timeline, the ticket as it was, the export."""

from __future__ import annotations

import base64
import math
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.settings import Settings
from tests.browser.conftest import (
    OPERATOR,
    Person,
    Site,
    assert_accessible,
    password,
    running,
    screenshot,
    sign_in,
    wait_for_projections,
)

ZONE = "Asia/Shanghai"
SLOW = 15_000  # ms: each step waits on a server that shares two cores with everything else
ANN = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)


@pytest.fixture(scope="module")
def site(site_settings: Settings) -> Iterator[Site]:
    """The seeded site, able to sign exports, with an auditor who reads times in Shanghai."""
    key = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    signing = site_settings.model_copy(update={"audit_signing_key": SecretStr(base64.b64encode(key).decode())})
    for built in running(signing):
        auditor = Person("audrey@acme.example", password())
        built.services.create_user(
            email=auditor.email,
            password=auditor.password,
            actor_id="audrey",
            role=Role.AUDITOR,
            tenant="acme",
            time_zone=ZONE,
            by=OPERATOR,
            via="cli",
        )
        built.people["auditor"] = auditor
        yield built


def _renamed_ticket(site: Site, before: str, after: str) -> tuple[uuid.UUID, datetime]:
    """A ticket opened as `before`, renamed to `after` over a second later, then made urgent; and when it opened."""
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    desk = site.services.desk
    ticket = desk.open_ticket(title=before, requester_id="cathy", group="support", **how).ticket_id  # type: ignore[arg-type]
    time.sleep(1.2)  # the time picker speaks in whole seconds
    desk.update_ticket(ticket, title=after, **how)  # type: ignore[arg-type]
    last = desk.update_ticket(ticket, priority="urgent", **how)  # type: ignore[arg-type]
    wait_for_projections(site.services, last.position or 0)
    return ticket, desk.ticket_at_version(ticket, 1).modified_on


def _picked(moment: datetime) -> str:
    """The first whole second after `moment`, in the auditor's zone, as a `datetime-local` field takes it."""
    whole = datetime.fromtimestamp(math.ceil(moment.timestamp()), tz=ZoneInfo(ZONE))
    return whole.replace(tzinfo=None).isoformat()


def test_an_auditor_verifies_the_chain_and_sees_a_ticket_as_it_was(page: Page, site: Site) -> None:
    ticket, opened = _renamed_ticket(site, "Scanner offline", "Scanner offline on floor 3")
    sign_in(page, site, "auditor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit", level=1)).to_be_visible()
    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("#verification")).to_contain_text("Verified:", timeout=SLOW)
    assert_accessible(page)
    screenshot(page, "audit")

    page.get_by_label("Ticket id or short ref").fill(str(ticket)[:8])
    page.get_by_role("button", name="Open timeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline: Scanner offline on floor 3")
    renamed = page.locator("#events tr").filter(has_text="Scanner offline → Scanner offline on floor 3")
    expect(renamed).to_have_count(1)
    assert_accessible(page)

    past = page.locator("#past")
    slider = page.get_by_label(re.compile(r"^Version \(1 to \d+\)$"))
    latest = slider.get_attribute("max")
    slider.fill("1")  # the slider, moved to the first version
    expect(past).to_contain_text("Version 1,", timeout=SLOW)
    slider.fill(str(latest))  # and back to the latest, the button too (the first move's region may still be settling)
    page.get_by_role("button", name="Show this version").click()
    expect(past).to_contain_text(f"Version {latest},", timeout=SLOW)
    expect(past.get_by_role("row", name="priority")).to_contain_text("urgent")
    # The slider's change and the button each asked for the region: let both answers land before typing a moment,
    # or the later one replaces the picker (and what was typed in it) with the version's own moment.
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=SLOW)

    moment = page.get_by_label("Moment (your time zone)")
    moment.fill(_picked(opened))
    expect(moment).to_have_value(_picked(opened))
    page.get_by_role("button", name="Show this moment").click()
    title = past.get_by_role("row", name="title").get_by_role("cell")
    expect(title).to_have_text("Scanner offline", timeout=SLOW)  # as it was before the rename
    expect(past.get_by_role("row", name="priority")).to_contain_text("normal")

    page.get_by_label("From version").fill("1")
    expect(page.get_by_label("To version")).to_have_value(str(latest))  # the latest, unless another is chosen
    page.get_by_role("button", name="Compare versions").click()
    renaming = "title: Scanner offline → Scanner offline on floor 3"
    expect(page.locator("#diff")).to_contain_text(renaming, timeout=SLOW)
    assert_accessible(page)
    screenshot(page, "audit-timeline")

    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, nothing scrolls sideways
    for path in ("/audit", f"/audit/tickets/{ticket}"):
        page.goto(site.url + path)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390, (path, wide)
    screenshot(page, "audit-timeline-phone")


def test_an_auditor_downloads_the_signed_export_and_sees_its_progress(page: Page, site: Site) -> None:
    _renamed_ticket(site, "Badge reader beeps", "Badge reader beeps twice")
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/audit")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    expect(page.locator("#export-progress")).to_contain_text("Done:", timeout=SLOW)
    saved = download.value.path().read_bytes()
    assert b"Badge reader beeps twice" in saved
    assert saved.splitlines()[-1].startswith(b'{"manifest"')


def test_in_chinese_an_auditor_moves_the_slider_to_an_earlier_version(page: Page, site: Site) -> None:
    ticket, _ = _renamed_ticket(site, "投影仪不亮", "会议室投影仪不亮")
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/language?lang=zh_CN&next=/audit/tickets/{ticket}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("时间线：会议室投影仪不亮")  # noqa: RUF001 -- Chinese punctuation
    page.get_by_label(re.compile(r"^版本（1 至 \d+）$")).fill("1")  # noqa: RUF001
    past = page.locator("#past")
    expect(past).to_contain_text("版本 1，", timeout=SLOW)  # noqa: RUF001
    expect(past.get_by_role("row", name="title").get_by_role("cell")).to_have_text("投影仪不亮")
    assert_accessible(page)
    screenshot(page, "audit-timeline-zh-CN")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计").click()
    page.get_by_role("button", name="立即验证").click()
    expect(page.locator("#verification")).to_contain_text("已验证", timeout=SLOW)
    assert_accessible(page)


def test_an_agent_is_refused_the_audit_pages(page: Page, site: Site) -> None:
    ticket, _ = _renamed_ticket(site, "Dock flickers", "Dock flickers at night")
    sign_in(page, site, "agent")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit")).to_have_count(0)
    for path in ("/audit", f"/audit/tickets/{ticket}"):
        answer = page.goto(site.url + path)
        assert answer is not None
        assert answer.status == 403, path
