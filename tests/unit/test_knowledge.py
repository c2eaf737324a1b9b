"""The knowledge base in the domain: articles drafted, edited, published, unpublished, archived and rated."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import IllegalTransitionError, InvalidValueError, NotFoundError, VersionMismatchError
from domain.helpdesk import HelpDesk
from domain.knowledge.article import Article, ArticleStatus
from domain.pipeline import KEEP

AGENT = Actor("alice", ActorKind.AGENT, role="agent")
SUPERVISOR = Actor("sam", ActorKind.AGENT, role="supervisor")
BOB = Actor("bob", ActorKind.REQUESTER, role="customer")
CAROL = Actor("carol", ActorKind.REQUESTER, role="customer")


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _draft(desk: HelpDesk, **given: object) -> Article:
    fields: dict[str, object] = {
        "title": "打印机无法连接网络",
        "body": "Restart the **printer**, then join it to the Wi-Fi again.",
        "language": "zh-CN",
        "visibility": "public",
        "categories": ["硬件", "network"],
        "tags": ["printer"],
        **given,
    }
    return desk.draft_article(tenant="acme", by=AGENT, via="api", **fields).article  # type: ignore[arg-type]


def _edit(desk: HelpDesk, article: Article, **given: object) -> Article:
    fields: dict[str, object] = {
        "title": KEEP,
        "body": KEEP,
        "language": KEEP,
        "visibility": KEEP,
        "categories": KEEP,
        "tags": KEEP,
        **given,
    }
    return desk.edit_article(article.id, tenant="acme", by=AGENT, via="api", **fields).article  # type: ignore[arg-type]


def test_every_revision_is_kept_and_readers_read_the_published_one(desk: HelpDesk) -> None:
    article = _draft(desk)
    assert (article.status, len(article.revisions), article.published) == (ArticleStatus.DRAFT, 1, None)
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    edited = _edit(desk, article, body="Press the network button for three seconds.")

    assert [r.number for r in edited.revisions] == [1, 2]
    assert edited.revision(1).content.body.startswith("Restart")
    assert edited.latest.content.body.startswith("Press")
    assert edited.published is not None
    assert edited.published.number == 1  # the edit waits for publishing; readers keep version 1
    assert desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api").article.published_revision == 2


def test_the_same_content_and_a_repeated_publish_record_nothing(desk: HelpDesk) -> None:
    article = _draft(desk)
    unchanged = desk.edit_article(
        article.id,
        tenant="acme",
        title="打印机无法连接网络",
        body=KEEP,
        language=KEEP,
        visibility=KEEP,
        categories=KEEP,
        tags=KEEP,
        by=AGENT,
        via="api",
    )
    assert unchanged.position is None
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    assert desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api").position is None


def test_customers_read_only_published_public_articles_of_their_tenant(desk: HelpDesk) -> None:
    article = _draft(desk)
    with pytest.raises(NotFoundError):
        desk.article(article.id, tenant="acme", reader=BOB)  # a draft
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    assert desk.article(article.id, tenant="acme", reader=BOB).id == article.id
    with pytest.raises(NotFoundError):
        desk.article(article.id, tenant="globex", reader=BOB)
    with pytest.raises(NotFoundError):
        desk.article(article.id, tenant="globex")  # staff of another tenant
    _edit(desk, article, visibility="internal")
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    with pytest.raises(NotFoundError):
        desk.article(article.id, tenant="acme", reader=BOB)
    assert desk.article(article.id, tenant="acme", reader=AGENT).is_public is False


def test_unpublished_and_archived_articles_leave_readers_and_archived_ones_take_no_change(desk: HelpDesk) -> None:
    article = _draft(desk)
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    desk.unpublish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    with pytest.raises(NotFoundError):
        desk.article(article.id, tenant="acme", reader=BOB)
    desk.archive_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    before = desk.article(article.id, tenant="acme").version
    for attempt in (
        lambda: desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api"),
        lambda: _edit(desk, article, title="Another"),
    ):
        with pytest.raises(IllegalTransitionError, match="archived"):
            attempt()
    assert desk.article(article.id, tenant="acme").version == before  # a rejected command stores nothing


def test_votes_count_each_readers_latest_answer(desk: HelpDesk) -> None:
    article = _draft(desk)
    with pytest.raises(NotFoundError):
        desk.rate_article(article.id, tenant="acme", helpful=True, by=BOB, via="web")
    with pytest.raises(IllegalTransitionError):
        desk.rate_article(article.id, tenant="acme", helpful=True, by=AGENT, via="web")
    desk.publish_article(article.id, tenant="acme", by=SUPERVISOR, via="api")
    desk.rate_article(article.id, tenant="acme", helpful=True, by=BOB, via="web")
    assert desk.rate_article(article.id, tenant="acme", helpful=True, by=BOB, via="web").position is None
    desk.rate_article(article.id, tenant="acme", helpful=False, by=CAROL, via="web")
    rated = desk.rate_article(article.id, tenant="acme", helpful=False, by=BOB, via="web").article
    assert (rated.helpful_votes, rated.unhelpful_votes) == (0, 2)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"title": " "}, "title"),
        ({"body": ""}, "body"),
        ({"language": "fr"}, "language"),
        ({"visibility": "secret"}, "visibility"),
        ({"categories": [""]}, "category"),
        ({"tags": ["Not A Slug"]}, "tag"),
    ],
)
def test_content_that_cannot_be_is_refused_naming_what(desk: HelpDesk, given: dict[str, object], said: str) -> None:
    with pytest.raises(InvalidValueError, match=said):
        _draft(desk, **given)


def test_versions_are_checked_and_unknown_ids_and_versions_are_not_found(desk: HelpDesk) -> None:
    article = _draft(desk)
    with pytest.raises(VersionMismatchError):
        desk.publish_article(article.id, tenant="acme", expected_version=7, by=SUPERVISOR, via="api")
    with pytest.raises(NotFoundError):
        desk.publish_article(uuid4(), tenant="acme", by=SUPERVISOR, via="api")
    with pytest.raises(NotFoundError, match="version 3"):
        article.revision(3)
