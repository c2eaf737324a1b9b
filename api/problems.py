"""Errors as RFC 9457 problem details, mapped from domain errors in this one place."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from domain import errors
from infrastructure.attachments.errors import AttachmentErasedError, AttachmentTooLargeError, AttachmentTypeError
from infrastructure.privacy.erasure import ReadModelsBehindError
from infrastructure.privacy.register import RegisterError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("ledgerdesk.api")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(description="A URI naming the kind of problem.", examples=["urn:ledgerdesk:problem:not-found"])
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time, for a person to read.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Field errors of an invalid request.")
    allowed: list[str] | None = Field(
        default=None, description="For an illegal move: the states the ticket may move to now (for this caller)."
    )
    missing: list[str] | None = Field(
        default=None, description="For a move that requires custom fields: those not set yet."
    )
    assignee: str | None = Field(default=None, description="For a claim: who has the ticket.")
    path: str | None = Field(
        default=None, description="For a rule that cannot be recorded: the part at fault (`conditions/all/1/op`)."
    )


# Domain error -> (HTTP status, problem slug). Subclasses match their nearest listed base.
_DOMAIN_ERRORS: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.NotFoundError: (404, "not-found"),
    errors.InvalidValueError: (422, "invalid-value"),
    errors.IllegalTransitionError: (409, "illegal-transition"),
    errors.TicketClosedError: (409, "ticket-closed"),
    errors.AlreadyClaimedError: (409, "already-claimed"),
    errors.AlreadyExistsError: (409, "already-exists"),
    errors.NotPermittedError: (403, "not-permitted"),
    errors.VersionMismatchError: (412, "version-mismatch"),
    errors.RaceLostError: (409, "concurrent-update"),
    errors.DisabledError: (409, "disabled"),
    AttachmentTooLargeError: (413, "too-large"),
    AttachmentTypeError: (415, "unsupported-media-type"),
    AttachmentErasedError: (410, "erased"),
}


class ProblemError(Exception):
    """Raised by the API layer itself (bad headers, bad credentials, ...) to answer with a problem."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    field_errors: list[dict[str, Any]] | None = None,
    members: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build a problem+json response; `members` are the problem type's own extension members."""
    body = Problem(
        type=f"urn:ledgerdesk:problem:{slug}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=field_errors,
        **(members or {}),
    )
    return JSONResponse(
        jsonable_encoder(body, exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase, "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error (domain, validation, HTTP, unexpected) as problem+json."""

    @app.exception_handler(errors.DomainError)
    async def domain_error(request: Request, error: errors.DomainError) -> JSONResponse:
        status, slug = status_of(error)
        return problem_response(request, status, slug, _detail_of(error), members=_members_of(error))

    @app.exception_handler(IntegrityError)
    async def concurrent_update(request: Request, _: IntegrityError) -> JSONResponse:
        detail = "another request changed this ticket at the same moment; nothing was stored, retry"
        return problem_response(request, 409, "concurrent-update", detail)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
        detail = "the database is not answering; nothing was stored, retry shortly"
        return problem_response(request, 503, "database-unavailable", detail, headers={"Retry-After": "1"})

    @app.exception_handler(ReadModelsBehindError)
    async def read_models_behind(request: Request, error: ReadModelsBehindError) -> JSONResponse:
        return problem_response(request, 503, "read-models-behind", str(error), headers={"Retry-After": "5"})

    @app.exception_handler(RegisterError)
    async def erasure_register_unavailable(request: Request, error: RegisterError) -> JSONResponse:
        # Nothing was destroyed: the erasure is put on record before the keys go (docs/privacy.md).
        log.error("erasure register unavailable on %s %s: %s", request.method, request.url.path, error)
        detail = "the erasure register cannot be written; no key was destroyed, retry once it is fixed"
        return problem_response(request, 503, "erasure-register-unavailable", detail)

    @app.exception_handler(ProblemError)
    async def api_problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(request, error.status, error.slug, error.detail, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        field_errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in error.errors()
        ]
        first = field_errors[0] if field_errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem_response(request, 422, "invalid-request", detail, field_errors=field_errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
        headers = dict(error.headers or {})
        allowed = allowed_methods(request) if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED else None
        if allowed is not None:
            headers["Allow"] = allowed
        return problem_response(request, error.status_code, slug, str(error.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return problem_response(request, 500, "internal-error", "an internal error occurred; it has been logged")


def allowed_methods(request: Request) -> str | None:
    """Every method the OpenAPI document serves at the request's path, for `Allow` on 405.

    Starlette names only the first route that matched the path, so `/views` (GET and POST as two
    routes) would say `GET, HEAD` to a DELETE. The document is what clients read, so `Allow` agrees
    with it by construction. None for a path the document does not list (then Starlette's stands).
    """
    methods: set[str] = set()
    for pattern, served in _documented_paths(request.app):
        if pattern.fullmatch(request.url.path):
            methods |= served
    if "GET" in methods:
        methods.add("HEAD")  # served wherever GET is (api/head_requests.py)
    return ", ".join(sorted(methods)) or None


def _documented_paths(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """(path regex, methods) of every path in `app`'s OpenAPI document, compiled once per app."""
    found: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "documented_paths", None)
    if found is None:
        found = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.documented_paths = found
    return found


def _detail_of(error: errors.DomainError) -> str:
    """What went wrong, in the API's words where the domain's would puzzle a client."""
    if isinstance(error, errors.VersionMismatchError) and error.expected == frozenset():
        # Only weak or foreign tags were sent: there was no version to expect.
        return (
            f'If-Match names no strong ETag of this ticket (a weak one, W/"...", never matches); '
            f'the current ETag is "{error.actual}"'
        )
    return str(error)


def _members_of(error: errors.DomainError) -> dict[str, Any]:
    """The extension members a domain error carries: the allowed moves, the missing fields."""
    if isinstance(error, errors.IllegalTransitionError) and error.allowed is not None:
        return {"allowed": error.allowed}
    if isinstance(error, errors.MissingFieldsError):
        return {"missing": error.missing}
    if isinstance(error, errors.InvalidRuleError):
        return {"path": error.path}
    if isinstance(error, errors.AlreadyClaimedError):
        return {"assignee": error.assignee}
    return {}


def status_of(error: errors.DomainError) -> tuple[int, str]:
    """The HTTP status and problem slug of a domain error (its nearest listed class)."""
    for cls in type(error).__mro__:
        if cls in _DOMAIN_ERRORS:
            return _DOMAIN_ERRORS[cls]
    return 422, "rejected"
