"""The portal's help articles (docs/knowledge-base.md): search them, read one, and suggestions under "New request".

The same reads as `GET /kb/search`, `GET /kb/articles/{id}` and `GET /kb/suggestions`, with the
same scope: a customer finds and reads only the published public articles of their tenant. The
suggestions are a fragment the "New request" form asks for (htmx) while its title is typed.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.article_html import article_html
from api.deps import ServicesDep
from api.web.pages import render
from api.web.visitors import SignedInDep, VisitorDep, check_form_token
from domain.access import policy as access
from domain.errors import IllegalTransitionError, NotFoundError
from infrastructure.composition import Services
from infrastructure.keys import Principal
from projections.fulltext import query
from projections.knowledge.queries import ArticleSummary

router = APIRouter(include_in_schema=False)

SEARCH_MAX = 200
SUGGESTIONS = 5
SearchField = Annotated[str, Query(max_length=SEARCH_MAX)]
#: The most articles one reply inserts.
ARTICLES_MAX = 10


def article_links(services: Services, tenant: str, article_ids: list[UUID]) -> str:
    """The lines a reply gains for these articles: each one's title and the portal address it is read at.

    An id of no article of the tenant raises NotFoundError, before the reply is kept.
    """
    found = [services.desk.article(article_id, tenant=tenant) for article_id in article_ids]
    return "".join(f"\n\n{article.latest.content.title}: /help/{article.id}" for article in found)


def _found(services: Services, principal: Principal, text: str, *, any_term: bool, limit: int) -> list[ArticleSummary]:
    public_only = access.reads_published_articles_only(principal.actor)
    knowledge = services.read_models.knowledge()
    if not text.strip():
        return [] if any_term else knowledge.articles(principal.tenant, public_only=public_only, limit=limit)
    asked = query(text, prefix=True, any_term=any_term)
    return knowledge.search(principal.tenant, asked, public_only=public_only, limit=limit)


@router.get("/help", response_class=HTMLResponse)
async def help_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, q: SearchField = ""
) -> Response:
    """Help articles: the latest without a search, the best matches with one."""
    if not access.may(principal.role, "search_articles"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    found = await run_in_threadpool(_found, services, principal, q, any_term=False, limit=50)
    return render(request, visitor, "help.html", q=q, articles=found)


@router.get("/help/{article_id}", response_class=HTMLResponse)
async def help_article_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, article_id: UUID
) -> Response:
    """One help article, as its reader reads it (a customer: the published version)."""
    if not access.may(principal.role, "get_article"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        article = services.desk.article(article_id, tenant=principal.tenant, reader=principal.actor)
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    staff = not access.reads_published_articles_only(principal.actor)
    shown = article.latest if staff or article.published is None else article.published
    body = article_html(shown.content.body)
    return render(request, visitor, "help_article.html", article=shown.content, body=body, written=shown.written_at)


@router.get("/new/suggestions", response_class=HTMLResponse)
async def request_suggestions(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, title: SearchField = ""
) -> Response:
    """The articles that may answer a request titled so (a fragment for the "New request" form)."""
    if not access.may(principal.role, "suggest_articles"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    found = await run_in_threadpool(_found, services, principal, title, any_term=True, limit=SUGGESTIONS)
    return render(request, visitor, "_suggestions.html", articles=found)


@router.post("/new/answered/{article_id}", response_class=HTMLResponse, dependencies=[Depends(check_form_token)])
async def request_answered(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, article_id: UUID
) -> Response:
    """A suggested article answered the request being written: count it as deflected, and send nothing.

    The button under a suggestion posts the "New request" form here instead of to `/new`; what was
    typed is dropped, never kept.
    """
    if not access.may(principal.role, "deflect_article"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        receipt = await run_in_threadpool(
            services.desk.record_deflection, article_id, tenant=principal.tenant, by=principal.actor, via="web"
        )
    except (NotFoundError, IllegalTransitionError):  # not one this reader reads, or no longer published
        return render(request, visitor, "error.html", 404, reason="not-found")
    answered = receipt.article.published or receipt.article.latest  # published: deflect() refuses any other
    return render(request, visitor, "request_answered.html", article=answered.content)


@router.get("/t/{ticket_id}/article-choices", response_class=HTMLResponse)
async def article_choices(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    ticket_id: UUID,
    kb_q: SearchField = "",
) -> Response:
    """The help articles matching the reply's article box, as checkboxes of the reply form (staff)."""
    if not access.may(principal.role, "link_articles"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    found = await run_in_threadpool(_found, services, principal, kb_q, any_term=False, limit=SUGGESTIONS)
    return render(request, visitor, "_article_choices.html", articles=found if kb_q.strip() else [], ticket=ticket_id)
