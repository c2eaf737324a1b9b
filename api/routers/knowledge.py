"""The knowledge base (docs/knowledge-base.md): articles and their versions, search, suggestions, votes, the report.

Commands and reads of one article go to the article itself (an aggregate), so a change is there
the moment its request answers; lists, search, suggestions and the report read the knowledge
read model (`min_position` waits for a command's position). Customers read only the published
public articles of their tenant; any other is "not found" to them.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import ChannelDep, DeskDep, ExpectedVersionDep, PrincipalDep, ViewReadDep, etag
from api.knowledge_schemas import (
    ArticleCreate,
    ArticleList,
    ArticleListQuery,
    ArticlePublic,
    ArticleReport,
    ArticleReportQuery,
    ArticleSearchQuery,
    ArticleSummaryPublic,
    ArticleUpdate,
    ArticleVersionList,
    ArticleVersionPublic,
    SuggestionQuery,
    VoteCreate,
)
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from domain.access import policy
from domain.knowledge.commands import ArticleReceipt
from domain.pipeline import KEEP
from infrastructure.keys import Principal
from projections.fulltext import query

router = APIRouter(prefix="/kb", tags=["knowledge base"])

ArticleId = Annotated[UUID, Path(description="The article's id.")]


def _staff(principal: Principal) -> bool:
    return not policy.reads_published_articles_only(principal.actor)


def _answer(receipt: ArticleReceipt, response: Response) -> ArticlePublic:
    response.headers["ETag"] = etag(receipt.article.version)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return ArticlePublic.of(receipt.article, staff=True)


@router.post(
    "/articles",
    status_code=status.HTTP_201_CREATED,
    response_model=ArticlePublic,
    responses=problem_responses(401, 403, 422),
)
def create_article(
    body: ArticleCreate, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> ArticlePublic:
    """Draft an article: its first version, unpublished (only staff see it until it is published)."""
    receipt = desk.draft_article(tenant=principal.tenant, **body.model_dump(), by=principal.actor, via=via)
    response.headers["Location"] = f"/kb/articles/{receipt.article.id}"
    return _answer(receipt, response)


@router.get("/articles", response_model=ArticleList, responses=problem_responses(401, 403, 422))
def list_articles(query_: Annotated[ArticleListQuery, Query()], read: ViewReadDep) -> ArticleList:
    """The tenant's articles, latest change first.

    Customers get the published public ones; staff all but archived ones (unless `status` asks for them).
    """
    position = read.position()
    staff = _staff(read.principal)
    rows = read.read_models.knowledge().articles(
        read.principal.tenant,
        public_only=not staff,
        status=query_.status if staff else None,
        language=query_.language,
        limit=query_.limit,
    )
    return ArticleList(items=[ArticleSummaryPublic.of(r) for r in rows], view_position=position)


@router.get("/articles/{article_id}", response_model=ArticlePublic, responses=problem_responses(401, 403, 404, 422))
def get_article(article_id: ArticleId, desk: DeskDep, principal: PrincipalDep, response: Response) -> ArticlePublic:
    """One article with its body rendered (`html`): customers read its published version, staff the latest."""
    article = desk.article(article_id, tenant=principal.tenant, reader=principal.actor)
    response.headers["ETag"] = etag(article.version)
    return ArticlePublic.of(article, staff=_staff(principal))


@router.patch(
    "/articles/{article_id}", response_model=ArticlePublic, responses=problem_responses(401, 403, 404, 409, 412, 422)
)
def update_article(
    article_id: ArticleId,
    body: ArticleUpdate,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> ArticlePublic:
    """Record a new version with what is given changed; the same content records nothing.

    A published article stays published at its version until the new one is published too. With
    `If-Match` (the article's ETag), a change made meanwhile is 412. An archived article is 409.
    """
    given = {name: value for name, value in body.model_dump(exclude_unset=True).items() if value is not None}
    fields = {name: given.get(name, KEEP) for name in ArticleUpdate.model_fields}
    receipt = desk.edit_article(
        article_id,
        tenant=principal.tenant,
        expected_version=expected_version,
        **fields,
        by=principal.actor,
        via=via,
    )
    return _answer(receipt, response)


@router.get(
    "/articles/{article_id}/versions",
    response_model=ArticleVersionList,
    responses=problem_responses(401, 403, 404, 422),
)
def list_article_versions(article_id: ArticleId, desk: DeskDep, principal: PrincipalDep) -> ArticleVersionList:
    """Every version of the article's content, oldest first (each edit made one)."""
    article = desk.article(article_id, tenant=principal.tenant)
    return ArticleVersionList(items=[ArticleVersionPublic.of(r) for r in article.revisions])


@router.get(
    "/articles/{article_id}/versions/{number}",
    response_model=ArticleVersionPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def get_article_version(
    article_id: ArticleId,
    number: Annotated[int, Path(ge=1, le=2**31 - 1, description="The version's number.")],
    desk: DeskDep,
    principal: PrincipalDep,
) -> ArticleVersionPublic:
    """One version of the article's content, as it was written."""
    return ArticleVersionPublic.of(desk.article(article_id, tenant=principal.tenant).revision(number))


@router.post(
    "/articles/{article_id}/publish", response_model=ArticlePublic, responses=problem_responses(401, 403, 404, 409, 412)
)
def publish_article(
    article_id: ArticleId,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> ArticlePublic:
    """Publish the latest version: readers (customers too, if it is public) read it from now on. Archived: 409."""
    receipt = desk.publish_article(
        article_id, tenant=principal.tenant, expected_version=expected_version, by=principal.actor, via=via
    )
    return _answer(receipt, response)


@router.post(
    "/articles/{article_id}/unpublish",
    response_model=ArticlePublic,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def unpublish_article(
    article_id: ArticleId,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> ArticlePublic:
    """Withdraw the article from readers; it may be published again."""
    receipt = desk.unpublish_article(
        article_id, tenant=principal.tenant, expected_version=expected_version, by=principal.actor, via=via
    )
    return _answer(receipt, response)


@router.post(
    "/articles/{article_id}/archive", response_model=ArticlePublic, responses=problem_responses(401, 403, 404, 412)
)
def archive_article(
    article_id: ArticleId,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> ArticlePublic:
    """Retire the article for good: unpublished, and closed to edits (its versions stay readable)."""
    receipt = desk.archive_article(
        article_id, tenant=principal.tenant, expected_version=expected_version, by=principal.actor, via=via
    )
    return _answer(receipt, response)


@router.post(
    "/articles/{article_id}/votes", response_model=ArticlePublic, responses=problem_responses(401, 403, 404, 409, 422)
)
def vote_article(
    article_id: ArticleId,
    body: VoteCreate,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> ArticlePublic:
    """Say whether a published article helped ("was this helpful?"); each reader's latest answer counts.

    An article that is not published is 409 to staff and not found to customers.
    """
    receipt = desk.rate_article(article_id, tenant=principal.tenant, helpful=body.helpful, by=principal.actor, via=via)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return ArticlePublic.of(receipt.article, staff=_staff(principal))


@router.post(
    "/articles/{article_id}/deflections",
    response_model=ArticlePublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def deflect_article(
    article_id: ArticleId, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> ArticlePublic:
    """Say that a published article answered what the caller was about to ask, so no request is opened.

    For the portal's New request and chat front ends: the article report counts these as deflected
    requests. An article that is not published is 409 to staff and not found to customers.
    """
    receipt = desk.record_deflection(article_id, tenant=principal.tenant, by=principal.actor, via=via)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return ArticlePublic.of(receipt.article, staff=_staff(principal))


@router.get("/search", response_model=ArticleList, responses=problem_responses(401, 403, 422))
def search_articles(query_: Annotated[ArticleSearchQuery, Query()], read: ViewReadDep) -> ArticleList:
    """Articles holding every word of `q` (Chinese: any two neighbouring characters), best match first.

    The title counts more than the body. The last word may be the start of a longer one (search
    as you type). Customers search the published public articles, staff every one not archived.
    """
    position = read.position()
    found = read.read_models.knowledge().search(
        read.principal.tenant,
        query(query_.q, prefix=True),
        public_only=not _staff(read.principal),
        language=query_.language,
        limit=query_.limit,
    )
    return ArticleList(items=[ArticleSummaryPublic.of(r) for r in found], view_position=position)


@router.get("/suggestions", response_model=ArticleList, responses=problem_responses(401, 403, 422))
def suggest_articles(query_: Annotated[SuggestionQuery, Query()], read: ViewReadDep) -> ArticleList:
    """Articles that may answer a request before it is made: those holding any word of `title`, best first.

    The most words matched, and in the title, rank first. Customers get published public ones only.
    """
    position = read.position()
    found = read.read_models.knowledge().search(
        read.principal.tenant,
        query(query_.title, prefix=True, any_term=True),
        public_only=not _staff(read.principal),
        language=query_.language,
        limit=query_.limit,
    )
    return ArticleList(items=[ArticleSummaryPublic.of(r) for r in found], view_position=position)


@router.get("/report", response_model=ArticleReport, responses=problem_responses(401, 403, 422))
def article_report(query_: Annotated[ArticleReportQuery, Query()], read: ViewReadDep) -> ArticleReport:
    """The articles readers voted on, most "did not help" votes first, each marked when rated low."""
    position = read.position()
    ratings = read.read_models.knowledge().ratings(read.principal.tenant, limit=query_.limit)
    return ArticleReport.of(ratings, low_share=query_.low_share, min_votes=query_.min_votes, position=position)
