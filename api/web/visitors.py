"""Who is looking at a web page: their session (if signed in), their form token, language and time zone.

Cookies authenticate the web pages only; the REST API reads bearer keys and never these cookies,
so a page on another site cannot make a browser change anything through the API. Every form of
the web pages carries a token that a page on another site cannot read: the session's CSRF token
once signed in, before that (the sign-in form) a random token also kept in a cookie of its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.web.i18n import LANGUAGES, from_accept_language, supported
from infrastructure.keys import Principal
from infrastructure.users import WebSession

SESSION_COOKIE = "ledgerdesk_session"
FORM_COOKIE = "ledgerdesk_form"  # the sign-in form's token, before there is a session
LANGUAGE_COOKIE = "ledgerdesk_language"
FORM_TOKEN_FIELD = "csrf_token"  # noqa: S105  # a field name, not a secret
FORM_TOKEN_HEADER = "x-csrf-token"  # noqa: S105  # what htmx requests may send instead of the field
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class FormTokenError(Exception):
    """A form of the web pages came without its token, or with another one (cross-site request forgery)."""


class SignInNeededError(Exception):
    """A page for signed-in users was asked for without a live session."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """The browser at the other end of a web request."""

    session: WebSession | None
    session_secret: str | None
    form_token: str
    language: str
    time_zone: str
    secure: bool  # the request came over https: cookies get `Secure`
    new_form_token: bool  # the anonymous form token is new and must be set as a cookie

    @property
    def principal(self) -> Principal | None:
        """Who the visitor acts as, when signed in."""
        return None if self.session is None else self.session.user.principal

    def keep_cookies(self, response: Response) -> None:
        """Set the cookies this visitor needs on a page response (the anonymous form token, when new)."""
        if self.new_form_token:
            set_cookie(response, FORM_COOKIE, self.form_token, secure=self.secure)


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None) -> None:
    """A cookie of the web pages: never readable by scripts, not sent on cross-site posts."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax")


async def get_visitor(request: Request, services: ServicesDep) -> Visitor:
    """The visitor of this request: its session looked up (in the thread pool: a database read) and its language."""
    secret = request.cookies.get(SESSION_COOKIE)
    session = None if not secret else await run_in_threadpool(services.users.session, secret)
    anonymous = request.cookies.get(FORM_COOKIE)
    form_token = session.csrf_token if session is not None else anonymous or secrets.token_urlsafe(32)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    language = (
        (chosen if chosen in LANGUAGES else None)
        or (session.user.language if session is not None else None)
        or from_accept_language(request.headers.get("accept-language"))
    )
    return Visitor(
        session=session,
        session_secret=secret if session is not None else None,
        form_token=form_token,
        language=supported(language) or "en",
        time_zone=session.user.time_zone if session is not None else "UTC",
        secure=request.url.scheme == "https",
        new_form_token=session is None and not anonymous,
    )


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


async def check_form_token(request: Request, visitor: VisitorDep) -> None:
    """Refuse (403) an unsafe request of the web pages whose form token is missing or not the visitor's."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(FORM_TOKEN_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it: the endpoint's Form parameters read the same one
        field = form.get(FORM_TOKEN_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not secrets.compare_digest(sent.encode(), visitor.form_token.encode()):
        raise FormTokenError


async def signed_in(visitor: VisitorDep) -> Principal:
    """The principal of a signed-in visitor; without a session, the visitor is sent to the sign-in page."""
    if visitor.principal is None:
        raise SignInNeededError
    return visitor.principal


SignedInDep = Annotated[Principal, Depends(signed_in)]
