"""Schemathesis against the app's live OpenAPI schema, in process (ASGI), on SQLite.

Every operation gets a bounded, reproducible number of generated requests, as an admin and as an
agent, against a store seeded with a few tickets. Each answer must not be a server error and must
conform to the schema: a documented status code, a documented content type and a valid body.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from infrastructure.composition import build_services
from infrastructure.keys import Role
from infrastructure.settings import Settings
from tests.conftest import TickingClock

MAX_EXAMPLES = 25  # generated requests per operation and role
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = [Role.ADMIN, Role.AGENT]
SEEDED_TICKETS = 3

# Every operation the app serves, as (method, path), read from its schema without a store. None is left
# out: the streaming ones (/audit/export, /audit/verify?stream=true) answer at once on a store this small.
OPERATIONS = [(method.upper(), path) for path, methods in create_app().openapi()["paths"].items() for method in methods]


@dataclass(frozen=True)
class Found:
    """A request that once broke the schema, kept as a regression check for one role."""

    role: Role
    query: dict[str, str]
    reason: str


# Requests this test found failing, since fixed; each must now pass every check.
FOUND: dict[tuple[str, str], Found] = {
    ("GET", "/audit/verify"): Found(
        Role.ADMIN, {"stream": "true"}, "?stream=true answered application/x-ndjson, which was not documented"
    ),
    ("GET", "/audit/queues"): Found(
        Role.ADMIN,
        {"as_of": "0001-01-01T00:01:00+01:01"},
        "an as_of outside datetime's range once in UTC failed with 500 instead of 422",
    ),
}


@dataclass(frozen=True)
class Api:
    """The schema as the app serves it, a key per role, and the ids of the seeded tickets."""

    schema: schemathesis.BaseSchema
    keys: dict[Role, str]
    tickets: list[str]


class AsServed:
    """The app as a server runs it: after the 500 answer, an unhandled error is logged, not raised.

    Starlette re-raises the error once it has answered 500 (the app logs it first). Raised into the
    in-process client it would end the run with a traceback; here the 500 reaches the checks, which
    report it with the request that caused it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    signing_key = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    config = Settings(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'events.sqlite'}",
        audit_signing_key=base64.b64encode(signing_key).decode(),
        # Hundreds of requests per key within a minute are the point here, not abuse to refuse.
        rate_limit="",
        # Generated `min_position`s lie mostly in the future: answer at once instead of waiting 2 s for each.
        read_wait_seconds=0,
    )
    services = build_services(config, clock=TickingClock())
    services.start_projections()
    keys = {role: services.keys.create(actor_id=f"{role.value}1", role=role, tenant="acme").secret for role in ROLES}
    app = create_app(services=services)
    tickets = []
    with TestClient(app, headers={"Authorization": f"Bearer {keys[Role.ADMIN]}"}) as client:
        for n in range(SEEDED_TICKETS):
            opened = client.post("/tickets", json={"title": f"Seeded {n}", "requester_id": "bob", "organisation": "o"})
            assert opened.status_code == 201, opened.text
            tickets.append(opened.json()["id"])
        assigned = client.post(f"/tickets/{tickets[0]}/assignment", json={"assignee": "agent1", "group": "it"})
        assert assigned.status_code == 200, assigned.text
    try:
        yield Api(schemathesis.openapi.from_asgi("/openapi.json", AsServed(app)), keys, tickets)
    finally:
        asgi.shutdown_lifespans()
        services.close()


def _explore(api: Api, role: Role, method: str, path: str, checks: list[CheckFunction]) -> None:
    """Send MAX_EXAMPLES generated requests to one operation as `role`; run `checks` on each answer."""
    operation = api.schema[path][method]
    # A fixed header, not a generated one: schemathesis would otherwise draw it from constants found in
    # the app's code, whose order varies with the hash seed, and the examples would vary from run to run.
    authorization = {"Authorization": f"Bearer {api.keys[role]}"}
    generated = operation.as_strategy(headers=authorization)
    if "ticket_id" in operation.path_parameters:
        # Three of the four branches address a seeded ticket, so commands and reads get past 404.
        seeded = [operation.as_strategy(headers=authorization, path_parameters={"ticket_id": t}) for t in api.tickets]
        generated = st.one_of(*seeded, generated)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same requests on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # report the first failing request; shrinking is unbounded
        suppress_health_check=[HealthCheck.too_slow],  # generation speed varies with the machine, not the app
    )
    @given(case=generated)
    def conforms(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=authorization, checks=checks)

    conforms()


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_schema(api: Api, role: Role, method: str, path: str) -> None:
    _explore(api, role, method, path, CHECKS)


@pytest.mark.parametrize(("method", "path"), list(FOUND), ids=[f"{m} {p}" for m, p in FOUND])
def test_requests_found_earlier_now_conform(api: Api, method: str, path: str) -> None:
    found = FOUND[method, path]
    authorization = {"Authorization": f"Bearer {api.keys[found.role]}"}
    case = api.schema[path][method].Case(query=found.query, headers=authorization)
    case.call_and_validate(headers=authorization, checks=CHECKS)
