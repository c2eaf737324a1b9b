"""Rate limits, the body size cap and security headers, through the real app on SQLite."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.types import Message

from api.app import create_app
from api.authentication import Presented, presented
from api.hardening import API_CSP, WEB_CSP
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

PROBLEM = "application/problem+json"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
TICKET = {"title": "Printer on fire", "requester_id": "bob"}

MakeApp = Callable[..., tuple[TestClient, Services]]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """Start the real app on a fresh SQLite file with some settings overridden."""
    opened: list[tuple[TestClient, Services]] = []

    def make(*, raise_server_exceptions: bool = True, **overrides: Any) -> tuple[TestClient, Services]:
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'events{len(opened)}.sqlite'}", **overrides)
        services = build_services(settings, clock=TickingClock())
        client = TestClient(create_app(services=services), raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        opened.append((client, services))
        return client, services

    yield make
    for client, services in opened:
        client.__exit__(None, None, None)
        services.close()


def _bearer(services: Services, actor: str = "alice", role: Role = Role.AGENT) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.keys.create(actor_id=actor, role=role, tenant='acme').secret}"}


def _assert_problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["type"]) == (status, f"urn:ledgerdesk:problem:{slug}")
    assert body["detail"]


def _assert_secured(response: Any, csp: str = API_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert response.headers["content-security-policy"] == csp


# Rate limiting


def test_429_after_the_limit_with_retry_after(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="5/minute")
    alice = _bearer(services)
    assert [client.get("/tickets", headers=alice).status_code for _ in range(5)] == [200] * 5

    refused = client.get("/tickets", headers=alice)
    _assert_problem(refused, 429, "rate-limited")
    assert refused.headers["retry-after"].isdigit()
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    _assert_secured(refused)
    # Refused requests are not counted as used: still refused, not for longer.
    assert client.post("/tickets", json=TICKET, headers=alice).status_code == 429


def test_each_api_key_is_counted_separately(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="3/minute")
    alice, carol = _bearer(services, "alice"), _bearer(services, "carol")
    for _ in range(3):
        assert client.get("/tickets", headers=alice).status_code == 200
    assert client.get("/tickets", headers=alice).status_code == 429
    assert [client.get("/tickets", headers=carol).status_code for _ in range(3)] == [200] * 3
    assert client.get("/tickets", headers=carol).status_code == 429


def test_requests_without_a_key_are_counted_per_client_address(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="3/minute")
    assert [client.get("/tickets").status_code for _ in range(3)] == [401] * 3
    _assert_problem(client.get("/tickets"), 429, "rate-limited")
    # Another scheme is no key either.
    assert client.get("/tickets", headers={"Authorization": "Basic YTpi"}).status_code == 429
    # A token is a failed authentication, counted in a bucket of its own; a real key has its own too.
    assert client.get("/tickets", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/tickets", headers=_bearer(services)).status_code == 200


def test_forged_tokens_for_a_key_id_never_lock_out_the_real_key(make_app: MakeApp) -> None:
    """Issue 13, finding 3: 600 forged tokens naming the victim's key id used up the victim's allowance."""
    client, services = make_app(rate_limit="600/minute", auth_failure_limit="20/minute")
    victim = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")
    forged = {"Authorization": f"Bearer ldk_{victim.principal.key_id}_forged"}
    answers = [client.get("/tickets", headers=forged) for _ in range(600)]
    assert [a.status_code for a in answers[:20]] == [401] * 20
    assert {a.status_code for a in answers[20:]} == {429}
    _assert_problem(answers[20], 429, "rate-limited")
    assert 1 <= int(answers[20].headers["retry-after"]) <= 60
    assert "failed authentications" in answers[20].json()["detail"]
    # The real key, from the same address, is counted only against itself.
    real = {"Authorization": f"Bearer {victim.secret}"}
    assert [client.get("/tickets", headers=real).status_code for _ in range(50)] == [200] * 50


def test_forged_tokens_leave_the_real_key_alone_on_each_store(sql_services: Services) -> None:
    """Finding 3 with the default limits (600/minute per key, 20/minute failures), on SQLite and PostgreSQL."""
    victim = sql_services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")
    forged = {"Authorization": f"Bearer ldk_{victim.principal.key_id}_forged"}
    with TestClient(create_app(services=sql_services)) as client:
        statuses = [client.get("/tickets", headers=forged).status_code for _ in range(600)]
        assert (statuses[:20], set(statuses[20:])) == ([401] * 20, {429})
        assert client.get("/tickets", headers={"Authorization": f"Bearer {victim.secret}"}).status_code == 200


def test_failed_authentications_are_counted_per_address_and_per_key_id(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="100/minute", auth_failure_limit="3/minute")
    victim = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")
    forged = {"Authorization": f"Bearer ldk_{victim.principal.key_id}_forged"}
    other_client = TestClient(client.app, client=("192.0.2.9", 50000))
    assert [other_client.get("/tickets", headers=forged).status_code for _ in range(4)] == [401, 401, 401, 429]
    # The key id's failures are used up from anywhere; this address has failures left for other ids.
    assert client.get("/tickets", headers=forged).status_code == 429
    assert client.get("/tickets", headers={"Authorization": "Bearer ldk_0123456789ab_x"}).status_code == 401
    # A revoked key fails like a forged one, and the address's failures run out.
    revoked = services.keys.create(actor_id="carol", role=Role.AGENT, tenant="acme")
    services.keys.revoke(revoked.principal.key_id)
    stale = {"Authorization": f"Bearer {revoked.secret}"}
    assert [client.get("/tickets", headers=stale).status_code for _ in range(3)] == [401, 401, 429]
    assert client.get("/tickets", headers={"Authorization": f"Bearer {victim.secret}"}).status_code == 200


def test_a_refused_failure_reads_no_body(make_app: MakeApp) -> None:
    client, _ = make_app(auth_failure_limit="1/minute", max_body_bytes=1024)
    forged = {"Authorization": "Bearer ldk_0123456789ab_forged"}
    assert client.post("/tickets", json=TICKET, headers=forged).status_code == 401
    # The body cap (413) sits inside the rate limit: a refused request's body is never looked at.
    _assert_problem(client.post("/tickets", content=b"x" * 5000, headers=forged), 429, "rate-limited")
    taken: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:
        taken.append({})
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = _asgi_post(client.app, forged["Authorization"].encode())
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert (sent[0]["status"], taken) == (429, [])


def test_an_empty_rate_limit_disables_it(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="")
    alice = _bearer(services)
    assert {client.get("/tickets", headers=alice).status_code for _ in range(30)} == {200}


def test_healthz_is_not_limited(make_app: MakeApp) -> None:
    client, _ = make_app(rate_limit="2/minute")
    assert {client.get("/healthz").status_code for _ in range(10)} == {200}
    # ... and does not use up the address's allowance either.
    assert [client.get("/tickets").status_code for _ in range(3)] == [401, 401, 429]


def test_the_presented_key_id_is_read_from_the_bearer_token() -> None:
    def scope(authorization: str | None) -> dict[str, Any]:
        headers = [(b"authorization", authorization.encode())] if authorization is not None else []
        return {"type": "http", "headers": headers, "client": ("192.0.2.7", 50000)}

    token = "ldk_a1b2c3d4e5f6_se_cr_et"
    assert presented(scope(f"Bearer {token}")) == Presented(token, "a1b2c3d4e5f6")
    assert presented(scope("bearer ldk_a1b2c3d4e5f6_secret ")) == Presented("ldk_a1b2c3d4e5f6_secret", "a1b2c3d4e5f6")
    for no_key_id in ("ldk__secret", "ldk_a1b2", "xyz_a1_b2"):
        assert presented(scope(f"Bearer {no_key_id}")) == Presented(no_key_id, None)
    for no_token in (None, "Bearer ", "Basic ldk_a_b", ""):
        assert presented(scope(no_token)) is None, no_token


def test_a_rate_limit_that_cannot_be_parsed_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="rate_limit"):
        Settings(rate_limit="lots")
    assert Settings(rate_limit=" 10/second;600/minute ").rate_limit == "10/second;600/minute"


def test_several_limits_apply_together(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="100/hour;2/minute")
    alice = _bearer(services)
    assert [client.get("/tickets", headers=alice).status_code for _ in range(3)] == [200, 200, 429]


# Request body size


def test_413_when_content_length_is_over_the_limit(make_app: MakeApp) -> None:
    client, services = make_app(max_body_bytes=1024)
    alice = _bearer(services)
    big = {**TICKET, "description": "x" * 2000}
    refused = client.post("/tickets", json=big, headers=alice)
    _assert_problem(refused, 413, "too-large")
    _assert_secured(refused)
    assert client.get("/tickets", headers=alice).json()["items"] == []
    assert client.post("/tickets", json=TICKET, headers=alice).status_code == 201


def test_413_when_a_chunked_body_grows_over_the_limit(make_app: MakeApp) -> None:
    client, services = make_app(max_body_bytes=1024)
    alice = _bearer(services)

    def chunks(description_size: int) -> Iterator[bytes]:
        text = json.dumps({**TICKET, "description": "x" * description_size}).encode()
        for start in range(0, len(text), 100):
            yield text[start : start + 100]

    refused = client.post("/tickets", content=chunks(5000), headers={**alice, "Content-Type": "application/json"})
    assert "content-length" not in refused.request.headers
    _assert_problem(refused, 413, "too-large")
    _assert_secured(refused)
    small = client.post("/tickets", content=chunks(10), headers={**alice, "Content-Type": "application/json"})
    assert small.status_code == 201, small.text


def test_a_chunked_body_is_not_read_past_the_limit(make_app: MakeApp) -> None:
    """At the ASGI level, where the chunks can be counted as the app takes them."""
    client, services = make_app(max_body_bytes=1024)
    app = client.app
    taken: list[int] = []
    sent: list[Message] = []
    authorization = _bearer(services)["Authorization"].encode()

    async def receive() -> Message:
        taken.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": len(taken) < 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = _asgi_post(app, authorization)

    async def post() -> None:
        await app(scope, receive, send)

    asyncio.run(post())
    assert sent[0]["status"] == 413
    assert len(taken) == 11  # 1,100 bytes: the chunk that went past 1,024 was the last one read
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["type"] == "urn:ledgerdesk:problem:too-large"


def _asgi_post(app: Any, authorization: bytes) -> dict[str, Any]:
    """The scope of `POST /tickets` as a server would hand it to the app."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/tickets",
        "raw_path": b"/tickets",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"authorization", authorization)],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
        "app": app,
    }


# Request body media type

NOT_JSON = [
    pytest.param({"Content-Type": "text/plain"}, id="text/plain"),
    pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="form"),
    pytest.param({"Content-Type": "text/json"}, id="text/json"),
    pytest.param({}, id="none"),
]


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_415_for_a_body_that_is_not_json(make_app: MakeApp, content_type: dict[str, str]) -> None:
    # It was 422 "body: Input should be a valid dictionary", which named no header.
    client, services = make_app()
    alice = _bearer(services)
    refused = client.post("/tickets", content=json.dumps(TICKET), headers={**alice, **content_type})
    _assert_problem(refused, 415, "unsupported-media-type")
    _assert_secured(refused)
    assert refused.headers["accept"] == "application/json"
    assert "application/json" in refused.json()["detail"]
    assert client.get("/tickets", headers=alice).json()["items"] == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json"],
)
def test_json_with_parameters_or_a_json_suffix_is_json(make_app: MakeApp, content_type: str) -> None:
    client, services = make_app()
    opened = client.post(
        "/tickets", content=json.dumps(TICKET), headers={**_bearer(services), "Content-Type": content_type}
    )
    assert opened.status_code == 201, opened.text


def test_no_body_and_no_content_type_is_a_missing_body(make_app: MakeApp) -> None:
    client, services = make_app()
    _assert_problem(client.post("/tickets", headers=_bearer(services)), 422, "invalid-request")
    retried = client.post("/projections/parked/retry", headers=_bearer(services, "root", Role.ADMIN))
    assert retried.status_code == 200, retried.text  # its body is optional


def _json_operations() -> list[tuple[str, str]]:
    document = create_app().openapi()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


@pytest.mark.parametrize(("method", "path"), _json_operations())
def test_every_json_operation_answers_415_and_documents_it(make_app: MakeApp, method: str, path: str) -> None:
    client, services = make_app()
    url = path.format(
        ticket_id="00000000-0000-4000-8000-000000000000",
        name="std",
        agent_id="carol",
        webhook_id="00000000-0000-4000-8000-000000000000",
        address="help@desk.example",
        kind="assigned",
        language="en",
        user_id="00000000-0000-4000-8000-000000000000",
        article_id="00000000-0000-4000-8000-000000000000",
        number=1,
        customer_id="bob",
    )
    refused = client.request(method, url, content=b"{}", headers={**_bearer(services), "Content-Type": "text/plain"})
    _assert_problem(refused, 415, "unsupported-media-type")
    declared = client.get("/openapi.json").json()["paths"][path][method.lower()]["responses"]["415"]
    assert list(declared["content"]) == [PROBLEM]
    assert declared["headers"]["Accept"]["schema"]["enum"] == ["application/json"]


def test_holidays_take_text_calendar_and_declare_no_415(make_app: MakeApp) -> None:
    client, services = make_app()
    admin = _bearer(services, "root", Role.ADMIN)
    operation = client.get("/openapi.json").json()["paths"]["/sla/calendars/{name}/holidays"]["post"]
    assert "415" not in operation["responses"]
    answered = client.post("/sla/calendars/std/holidays", content=b"BEGIN:VCALENDAR", headers=admin)
    assert answered.status_code != 415


def test_a_415_keeps_no_idempotency_key(make_app: MakeApp) -> None:
    client, services = make_app()
    alice = {**_bearer(services), "Idempotency-Key": "k-415"}
    refused = client.post("/tickets", content=json.dumps(TICKET), headers={**alice, "Content-Type": "text/plain"})
    assert refused.status_code == 415
    opened = client.post("/tickets", json=TICKET, headers=alice)
    assert opened.status_code == 201, opened.text
    assert "idempotent-replayed" not in opened.headers


# Security headers


def test_security_headers_on_success_and_error_responses(make_app: MakeApp) -> None:
    client, services = make_app(rate_limit="50/minute")
    alice = _bearer(services)
    created = client.post("/tickets", json=TICKET, headers=alice)
    responses = {
        "created": created,
        "read": client.get(created.headers["location"], headers=alice),
        "healthz": client.get("/healthz"),
        "openapi": client.get("/openapi.json"),
        "unauthorized": client.get("/tickets"),
        "not found": client.get("/tickets/00000000-0000-0000-0000-000000000000", headers=alice),
        "invalid": client.post("/tickets", json={"title": ""}, headers=alice),
        "no route": client.get("/nowhere"),
        "head": client.head(created.headers["location"], headers=alice),
        "root": client.get("/"),
        "unsupported": client.post("/tickets", content=b"{}", headers={**alice, "Content-Type": "text/plain"}),
    }
    assert [r.status_code for r in responses.values()] == [201, 200, 200, 200, 401, 404, 422, 404, 200, 200, 415]
    for response in responses.values():
        _assert_secured(response)


def test_the_web_pages_get_their_own_policy_and_the_api_keeps_its(make_app: MakeApp) -> None:
    client, _ = make_app()
    html = {"Accept": "text/html"}
    for page in (client.get("/login", headers=html), client.get("/", headers=html)):
        assert page.headers["content-type"].startswith("text/html")
        _assert_secured(page, WEB_CSP)  # `/` without a session: the sign-in page
    _assert_secured(client.get("/"), API_CSP)  # the JSON entry, for clients that do not ask for HTML
    _assert_secured(client.get("/static/htmx.min.js"), API_CSP)  # a script is no document: no policy of its own


def test_security_headers_on_an_unexpected_error(make_app: MakeApp) -> None:
    client, _ = make_app(raise_server_exceptions=False)

    def broken() -> None:
        """An endpoint with a bug in it."""
        raise RuntimeError("key store on fire")

    client.app.add_api_route("/broken", broken)  # type: ignore[attr-defined]
    response = client.get("/broken")
    _assert_problem(response, 500, "internal-error")
    assert "on fire" not in response.text
    _assert_secured(response)


@pytest.mark.parametrize(("path", "asset"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_the_docs_render_with_their_own_policy_and_no_other_host(make_app: MakeApp, path: str, asset: str) -> None:
    client, _ = make_app()
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # Nothing the page loads comes from another host: a network without one still shows the docs.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html), html
    assert "fonts.googleapis.com" not in html
    script_urls = re.findall(r'<script src="([^"]+)"', html)
    assert f"/docs-assets/{asset}" in script_urls
    for url in [*script_urls, *re.findall(r'<link[^>]*href="([^"]+)"', html)]:
        served = client.get(url)  # every asset the page names is served here
        assert served.status_code == 200, url
        assert len(served.content) > 1000, url
    csp = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "'self'" in csp["script-src"].split()
    assert not [source for source in csp["script-src"].split() if "://" in source or source.endswith(":")]
    assert not [source for part in csp.values() for source in part.split() if "://" in source]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    # Each inline script is allowed by its hash, and nothing else inline is.
    for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"].split()
    assert "connect-src" in csp
    assert csp["connect-src"] == "'self'"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
