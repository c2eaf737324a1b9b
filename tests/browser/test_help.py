"""The portal's help articles: a customer searches them in Chinese, reads one, and is offered them while asking."""

from __future__ import annotations

from uuid import UUID

from playwright.sync_api import Page, expect

from domain.actors import Actor, ActorKind
from tests.browser.conftest import Site, assert_accessible, screenshot, sign_in, wait_for_projections

SAM = Actor("sam", ActorKind.AGENT, role="supervisor")


def _article(site: Site, title: str, body: str, visibility: str) -> None:
    desk = site.services.desk
    made = desk.draft_article(
        tenant="acme", title=title, body=body, language="zh-CN", visibility=visibility, by=SAM, via="web"
    )
    published = desk.publish_article(made.article.id, tenant="acme", by=SAM, via="web")
    wait_for_projections(site.services, published.position or 0)


def test_a_customer_finds_a_chinese_article_and_is_offered_it_while_asking(page: Page, site: Site) -> None:
    _article(site, "打印机无法连接网络", "1. 重启打印机\n2. 重新连接 **Wi-Fi**", "public")
    _article(site, "网络设备内部手册", "只给员工看。", "internal")
    sign_in(page, site, "customer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Help articles").click()
    page.get_by_label("Search help articles").fill("网络")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("region", name="Articles")
    expect(results.get_by_role("link", name="打印机无法连接网络")).to_be_visible()
    expect(results.get_by_role("link", name="网络设备内部手册")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "help")
    results.get_by_role("link", name="打印机无法连接网络").click()
    expect(page.get_by_role("heading", name="打印机无法连接网络", level=1)).to_be_visible()
    expect(page.locator("strong", has_text="Wi-Fi")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    page.get_by_label("Title").press_sequentially("我的打印机连不上")
    offered = page.get_by_role("region", name="Articles that may help")
    expect(offered.get_by_role("link", name="打印机无法连接网络")).to_be_visible()
    expect(offered.get_by_role("link", name="网络设备内部手册")).to_have_count(0)
    assert_accessible(page)

    # The article answers the question: nothing is sent, and the report counts a request answered before it was made.
    offered.get_by_role("button", name="This answers my question").click()
    expect(page.get_by_role("heading", name="Glad it helped", level=1)).to_be_visible()
    assert_accessible(page)
    services = site.services
    wait_for_projections(services, services.desk.recorder.max_notification_id() or 0)
    (rated,) = services.read_models.knowledge().ratings("acme")
    assert (rated.title, rated.deflected) == ("打印机无法连接网络", 1)


def test_an_agent_inserts_a_help_article_into_a_reply_and_the_ticket_records_the_link(page: Page, site: Site) -> None:
    _article(site, "VPN 连接失败", "重新安装 VPN 客户端。", "public")
    ticket = site.tickets["assigned"]
    sign_in(page, site, "agent")
    page.goto(f"{site.url}/t/{ticket}")
    page.get_by_label("Message").fill("请看这篇文章。")
    page.get_by_label("Insert help articles").press_sequentially("连接失败")
    page.get_by_role("checkbox", name="VPN 连接失败").check()
    assert_accessible(page)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("VPN 连接失败: /help/")).to_be_visible()
    linked = site.services.desk.get_ticket(ticket).linked_articles
    assert len(linked) == 1
    assert site.services.desk.article(UUID(linked[0]), tenant="acme").latest.content.title == "VPN 连接失败"
