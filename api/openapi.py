"""The OpenAPI document as the server means it, where FastAPI's generated one says less or more than is true.

* An optional parameter (`int | None = None`) comes out as `anyOf: [integer, null]`. In a query,
  path or header there is no JSON null: absent is how a parameter is left out, and the text
  `null` is refused like any other non-integer. So parameters lose the `null` branch; bodies
  keep theirs, where `null` is real JSON.
* Every error is `application/problem+json` with the `Problem` body (api/problems.py), never
  FastAPI's `application/json` validation error.
* Answers any request may get are declared on every operation that can give them: 422 when it
  takes parameters or a body, 400 when its body cannot be read or its If-Match is malformed, 415
  (with `Accept`) when its body is JSON and the request's is not (api/media_types.py), 401 and
  403 when it needs a key, 429 (rate limits) and 503 (database not answering) for all of those.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from api.media_types import JSON_MEDIA_TYPE, takes_json
from api.problems import PROBLEM_MEDIA_TYPE

_NULL = {"type": "null"}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a parameter that is present: its `anyOf` without the null branch."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or _NULL not in branches:
        return schema
    kept = [branch for branch in branches if branch != _NULL]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", 0) is None:
        del rest["default"]  # absent, not null
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _problem(status: int) -> dict[str, Any]:
    return {"description": HTTPStatus(status).phrase, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


def _common_answers(operation: dict[str, Any]) -> list[int]:
    """The error statuses any request to `operation` may be answered with (see the module docstring)."""
    statuses = []
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    if "requestBody" in operation or _has_header(operation, "If-Match"):
        statuses.append(400)
    if takes_json(operation):
        statuses.append(415)
    if operation.get("security"):
        statuses += [401, 403, 429, 503]
    return statuses


def _has_header(operation: dict[str, Any], name: str) -> bool:
    parameters = operation.get("parameters", ())
    return any(p.get("in") == "header" and p.get("name", "").lower() == name.lower() for p in parameters)


#: The `Accept` of a 415: the media type the request body must have.
_ACCEPT = {
    "description": "The media type the request body must have.",
    "schema": {"type": "string", "enum": [JSON_MEDIA_TYPE]},
}


def _declare_answers(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in _common_answers(operation):
        responses.setdefault(str(status), _problem(status))
    if "415" in responses:
        responses["415"].setdefault("headers", {})["Accept"] = _ACCEPT
    for code, response in responses.items():
        if code[0] in "45":  # an error: problem+json with the Problem body, whatever FastAPI made of it
            response["content"] = _problem(int(code))["content"]


def truthful(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as the server answers (see the module docstring)."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", ()):
                if "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])
            _declare_answers(operation)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # replaced by Problem above
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve `truthful(...)` of FastAPI's generated document (built once, as FastAPI does)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it
