"""Knowledge-base search on SQLite (FTS5) and PostgreSQL (tsvector): Chinese by any two characters, ranked, scoped."""

from __future__ import annotations

from uuid import UUID

from domain.actors import Actor, ActorKind
from infrastructure.composition import Services
from projections.fulltext import query

AGENT = Actor("alice", ActorKind.AGENT, role="agent")
ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BOB = Actor("bob", ActorKind.REQUESTER, role="customer")


def _article(services: Services, title: str, body: str, *, tenant: str = "acme", **given: object) -> UUID:
    fields: dict[str, object] = {"language": "en", "visibility": "public", "categories": [], "tags": [], **given}
    made = services.desk.draft_article(tenant=tenant, title=title, body=body, by=AGENT, via="api", **fields)  # type: ignore[arg-type]
    return made.article.id


def _publish(services: Services, article_id: UUID, tenant: str = "acme") -> int:
    receipt = services.desk.publish_article(article_id, tenant=tenant, by=ADMIN, via="api")
    assert receipt.position is not None
    return receipt.position


def _titles(services: Services, text: str, *, public_only: bool, tenant: str = "acme", **how: object) -> list[str]:
    services.start_projections()
    services.read_models.wait_for(services.desk.recorder.max_notification_id() or 0, 10)
    hits = services.read_models.knowledge().search(tenant, query(text), public_only=public_only, **how)  # type: ignore[arg-type]
    return [hit.title for hit in hits]


def test_chinese_is_found_by_any_two_characters_and_english_by_its_words(sql_services: Services) -> None:
    printer = _article(sql_services, "打印机无法连接网络", "请重启打印机,然后重新连接 Wi-Fi。", language="zh-CN")
    _article(sql_services, "Printer offline", "Check the network cable of the printer.")
    _publish(sql_services, printer)

    for text in ("打印机", "网络", "无法连接", "连接网络", "Wi-Fi", "重启"):
        assert _titles(sql_services, text, public_only=False) == ["打印机无法连接网络"], text
    assert _titles(sql_services, "网络", public_only=False, language="en") == []
    assert _titles(sql_services, "打印纸", public_only=False) == []  # all of a query's pairs must match
    assert _titles(sql_services, "printer", public_only=False) == ["Printer offline"]
    assert _titles(sql_services, "NETWORK", public_only=False) == ["Printer offline"]


def test_a_title_match_ranks_above_a_body_match(sql_services: Services) -> None:
    _article(sql_services, "Resetting a password", "Open the settings page and follow the steps there.")
    _article(sql_services, "Setting up mail", "If you forgot your password, see the password article.")
    assert _titles(sql_services, "password", public_only=False) == ["Resetting a password", "Setting up mail"]


def test_customers_find_only_published_public_articles_of_their_tenant(sql_services: Services) -> None:
    public = _article(sql_services, "VPN 连接失败", "Reinstall the VPN client.")
    internal = _article(sql_services, "VPN server restart", "Internal runbook.", visibility="internal")
    _article(sql_services, "VPN draft", "Not published.")
    other = _article(sql_services, "VPN for globex", "Another tenant.", tenant="globex")
    for article_id in (public, internal):
        _publish(sql_services, article_id)
    _publish(sql_services, other, tenant="globex")

    assert _titles(sql_services, "vpn", public_only=True) == ["VPN 连接失败"]
    staff_sees = ["VPN draft", "VPN server restart", "VPN 连接失败"]
    assert sorted(_titles(sql_services, "vpn", public_only=False)) == staff_sees
    sql_services.desk.edit_article(
        public,
        tenant="acme",
        title="VPN 不能用",
        body="Draft of a rewrite.",
        language="zh-CN",
        visibility="public",
        categories=[],
        tags=[],
        by=AGENT,
        via="api",
    )
    assert _titles(sql_services, "连接失败", public_only=True) == ["VPN 连接失败"]  # the published revision
    assert _titles(sql_services, "不能", public_only=True) == []
    assert _titles(sql_services, "不能", public_only=False) == ["VPN 不能用"]
    sql_services.desk.unpublish_article(public, tenant="acme", by=ADMIN, via="api")
    assert _titles(sql_services, "vpn", public_only=True) == []


def test_an_erased_readers_votes_leave_the_ratings(sql_services: Services) -> None:
    article = _article(sql_services, "Printer", "Body.")
    _publish(sql_services, article)
    sql_services.desk.rate_article(article, tenant="acme", helpful=False, by=BOB, via="web")
    sql_services.desk.rate_article(article, tenant="acme", helpful=True, by=AGENT, via="web")
    _titles(sql_services, "printer", public_only=True)
    (rating,) = sql_services.read_models.knowledge().ratings("acme")
    assert (rating.helpful, rating.unhelpful) == (1, 1)
    sql_services.desk.erase_person(tenant="acme", person_id="bob", ticket_ids=[], by=ADMIN, via="api")
    _titles(sql_services, "printer", public_only=True)
    (rating,) = sql_services.read_models.knowledge().ratings("acme")
    assert (rating.helpful, rating.unhelpful) == (1, 0)
