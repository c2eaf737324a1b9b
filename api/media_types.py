"""415 for a request body that is not JSON, on every operation whose body the OpenAPI document says is JSON.

Without it FastAPI reads a `text/plain` or form-encoded body (or one without `Content-Type`) as a
string and answers 422 "Input should be a valid dictionary", which sends a client looking at its
fields instead of its header. JSON is `application/json` and any `application/*+json`, with or
without parameters (`; charset=utf-8`): what FastAPI parses as JSON. Operations whose body is of
another type (`text/calendar` for holidays) are left to their route.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response

JSON_MEDIA_TYPE = "application/json"
_JSON = re.compile(r"application/(?:[^\s/;]+\+)?json", re.IGNORECASE)


def is_json(content_type: str) -> bool:
    """Whether a `Content-Type` value names JSON: `application/json` or `application/*+json`, parameters aside."""
    return _JSON.fullmatch(content_type.split(";", 1)[0].strip()) is not None


def takes_json(operation: dict[str, Any]) -> bool:
    """Whether an OpenAPI operation's request body is JSON."""
    return JSON_MEDIA_TYPE in operation.get("requestBody", {}).get("content", {})


def has_content(headers: Headers) -> bool:
    """Whether the request carries a body: a non-zero `Content-Length`, or a chunked one."""
    return headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers


class JsonBodyMiddleware:
    """Answer 415 problem+json, naming the expected type in `Accept`, to a non-JSON body of a JSON operation.

    Checked before the body is read, and before the key, like the size limit: the type an operation
    takes is public (the OpenAPI document), so answering it first tells nobody anything.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on unless its body is not the JSON its operation takes."""
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        if not has_content(headers) or (content_type is not None and is_json(content_type)):
            await self.app(scope, receive, send)
            return
        if not _takes_json(scope["app"], scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        got = f"got {content_type!r}" if content_type is not None else "got none"
        detail = f"the request body must be {JSON_MEDIA_TYPE} (Content-Type: {JSON_MEDIA_TYPE}; {got})"
        response = problem_response(
            Request(scope), 415, "unsupported-media-type", detail, headers={"Accept": JSON_MEDIA_TYPE}
        )
        await response(scope, receive, send)


def _takes_json(app: FastAPI, method: str, path: str) -> bool:
    """Whether the first documented operation that `method path` reaches has a JSON request body."""
    for pattern, operations in _json_bodies(app):
        if pattern.fullmatch(path) and method in operations:
            return operations[method]
    return False


def _json_bodies(app: FastAPI) -> list[tuple[re.Pattern[str], dict[str, bool]]]:
    """(path regex, {method: whether its body is JSON}) of every path in the document, in its order; once per app."""
    found: list[tuple[re.Pattern[str], dict[str, bool]]] | None = getattr(app.state, "json_bodies", None)
    if found is None:
        found = [
            (
                compile_path(path)[0],
                {method.upper(): takes_json(operation) for method, operation in operations.items()},
            )
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.json_bodies = found
    return found
