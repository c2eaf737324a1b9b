"""The web pages' routes: thin, as the API's are (form → application call → page or fragment).

None of these routes is in the OpenAPI document: they speak HTML to browsers, authenticate by
the session cookie (api/web/visitors.py), and every unsafe one checks the form token first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.hardening import client_address
from api.routers import health
from api.web import (
    admin_directory,
    admin_keys,
    admin_mailboxes,
    admin_rules,
    admin_schedules,
    admin_sla,
    admin_users,
    admin_webhooks,
    admin_workflows,
    audit_pages,
    board,
    dashboard,
    help_pages,
    location,
    portal,
    queue_page,
    queues,
    ticket_page,
)
from api.web.i18n import LANGUAGES
from api.web.live import install_live
from api.web.pages import render, wants_fragment
from api.web.sign_in_limit import SignInLimit
from api.web.visitors import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    FormTokenError,
    SignInNeededError,
    VisitorDep,
    check_form_token,
    get_visitor,
    set_cookie,
    signed_in,
)
from domain.access import policy as access
from domain.actors import ActorKind
from infrastructure.settings import Settings

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])

EmailField = Annotated[str, Form(max_length=254)]
PasswordField = Annotated[str, Form(max_length=1024)]
NextField = Annotated[str, Form(max_length=2048)]


def local_target(target: str | None) -> str:
    """Where to go after a form: a path of this site only, never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _limit(request: Request) -> SignInLimit:
    limit: SignInLimit = request.app.state.sign_in_limit
    return limit


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, visitor: VisitorDep, next: str | None = None) -> Response:  # noqa: A002
    """The sign-in form; a visitor already signed in goes on to their landing page."""
    if visitor.session is not None:
        return RedirectResponse(local_target(next), status_code=303)
    return render(request, visitor, "login.html", next=local_target(next), email="", error=None)


@router.post("/login", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    visitor: VisitorDep,
    services: ServicesDep,
    email: EmailField = "",
    password: PasswordField = "",
    next: NextField = "/",  # noqa: A002
) -> Response:
    """Check the password and start a session; a wrong one shows the form again, and counts as a failure.

    A field left out is a wrong answer like any other, shown on the form rather than as a JSON error.
    """
    address, limit = client_address(request.scope), _limit(request)
    wait = limit.retry_after(address, email)
    if wait is not None:
        page = render(request, visitor, "login.html", 429, next=local_target(next), email=email, error="limited")
        page.headers["Retry-After"] = str(wait)
        return page
    user = await run_in_threadpool(services.users.check_password, email, password)
    if user is None:
        limit.failed(address, email)
        return render(request, visitor, "login.html", 401, next=local_target(next), email=email, error="wrong")
    hours = services.settings.session_hours
    started = await run_in_threadpool(services.users.start_session, user, hours=hours)
    response = RedirectResponse(local_target(next), status_code=303)
    set_cookie(response, SESSION_COOKIE, started.secret, secure=visitor.secure, max_age=int(hours * 3600))
    return response


@router.post("/logout")
async def sign_out(visitor: VisitorDep, services: ServicesDep) -> Response:
    """End the session at once (its cookie stops working everywhere) and go back to the sign-in page."""
    if visitor.session_secret is not None:
        await run_in_threadpool(services.users.end_session, visitor.session_secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=visitor.secure, httponly=True, samesite="lax")
    return response


@router.get("/language")
async def choose_language(visitor: VisitorDep, lang: str = "en", next: str | None = None) -> Response:  # noqa: A002
    """Remember the language chosen in the switcher (a cookie for a year), then show the page again in it."""
    response = RedirectResponse(local_target(next), status_code=303)
    if lang in LANGUAGES:
        set_cookie(response, LANGUAGE_COOKIE, lang, secure=visitor.secure, max_age=365 * 24 * 3600)
    return response


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, visitor: VisitorDep, services: ServicesDep) -> Response:
    """An agent's queue ("My queue"), or a customer's requests ("My requests").

    Only browsers (which ask for HTML) get a page here: other clients get the API's JSON entry
    (api/routers/health.py, which the OpenAPI document describes) as they always have.
    """
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(health.root().model_dump())
    principal = await signed_in(visitor)
    read_models = services.read_models
    if principal.actor.kind is ActorKind.REQUESTER:
        rows = await run_in_threadpool(queues.customer_requests, read_models, principal)
        template = "_request_rows.html" if wants_fragment(request) else "requests.html"
        return render(request, visitor, template, rows=rows)
    if not access.may(principal.role, "agent_queue"):
        return render(request, visitor, "no_queue.html")
    return await queue_page.agent_queue_page(request, visitor, services, principal)


def install_web(app: FastAPI, settings: Settings) -> None:
    """Serve the web pages and their static files, and answer their two refusals as pages."""
    app.state.sign_in_limit = SignInLimit(settings.sign_in_failure_limit)
    app.include_router(router)
    app.include_router(portal.router)
    app.include_router(queue_page.router)
    app.include_router(ticket_page.router)
    app.include_router(admin_users.router)
    app.include_router(dashboard.router)
    app.include_router(board.router)
    app.include_router(help_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(admin_keys.router)
    app.include_router(admin_directory.router)
    app.include_router(admin_workflows.router)
    app.include_router(admin_sla.router)
    app.include_router(admin_webhooks.router)
    app.include_router(admin_mailboxes.router)
    app.include_router(admin_schedules.router)
    app.include_router(admin_rules.router)
    app.include_router(location.router)
    install_live(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def refuse_form(request: Request, error: Exception) -> Response:
        visitor = await get_visitor(request, request.app.state.services)  # the page speaks the visitor's language
        return render(request, visitor, "error.html", 403, reason="form-token")

    async def to_sign_in(request: Request, error: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if wants_fragment(request):
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    app.add_exception_handler(FormTokenError, refuse_form)
    app.add_exception_handler(SignInNeededError, to_sign_in)
