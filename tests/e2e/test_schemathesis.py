"""Schemathesis against the app's live OpenAPI schema, in process (ASGI), on SQLite.

Two runs, both reproducible (fixed seed, derandomized):

* `test_every_check_in_every_phase` is `schemathesis run --checks all` with stateful testing:
  schemathesis' own engine, every check it has (negative data rejected, positive data accepted,
  status codes, content types, bodies and headers as documented, a missing required header,
  unsupported methods with their `Allow`, ignored authentication, ...), its examples, coverage,
  fuzzing and stateful phases (the state machine follows the schema's links), sized for CI.
* `test_operation_conforms_to_the_schema` sends each operation generated requests as an admin
  and as an agent, against seeded tickets, with the checks that judge one answer.

Every answer must conform: no server error, a documented status code and content type, a body
and headers as documented. What the schema cannot say is listed in `CROSS_FIELD_RULES`, each with
why: a request can be schema-valid and still break one (a range of two dates too long), and then
422 is the right answer, not a lie of the schema.
"""

from __future__ import annotations

import base64
import os
import re
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
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from api.deps import IF_MATCH_PATTERN
from domain.access.policy import Role
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

MAX_EXAMPLES = 25  # generated requests per operation and role (per-operation test)
# Per operation and phase in the engine run (four phases, every check): CI-sized; a deeper run
# is `LEDGERDESK_SCHEMATHESIS_EXAMPLES=100 .venv/bin/pytest tests/e2e/test_schemathesis.py`.
ENGINE_MAX_EXAMPLES = int(os.environ.get("LEDGERDESK_SCHEMATHESIS_EXAMPLES", "5"))
STATEFUL_MAX_STEPS = 20
ROLES = [Role.ADMIN, Role.AGENT]
SEEDED_TICKETS = 3
#: A failed precondition is not a refusal of the request's shape: an If-Match that is well formed
#: (and so positive data) but names no current version (a stale ETag, a weak one, which never
#: matches, another server's) is answered 412, as RFC 9110 says. A malformed one is 400.
PRECONDITION_FAILED = 412

# Rules that hold between fields, or depend on the caller or on stored state, which JSON Schema
# cannot state: a schema-valid request that breaks one is rightly refused with 422.
CROSS_FIELD_RULES: dict[str, str] = {
    "requester_id is required when an agent opens a ticket": "depends on the caller's role",
    "give either as_of or version, not both": "two parameters that exclude each other",
    "policy_version needs policy": "one parameter that needs another",
    "the patch changes nothing": "at least one of seven fields, given with a value that changes something",
    "assignment needs an assignee, a group, or both": "at least one of two fields, not null",
    "must not be after": "the order of two dates",
    "a report day lies between": "JSON Schema has no bounds for a date",
    "a report covers at most": "the span between two dates",
    "the cursor is not": "a cursor the server handed out earlier",
    "beyond the last position of the event log": "the log's head at the time of the request",
    "no due moment": "the calendar's open hours over a hundred years",
    "a policy needs at least one target": "at least one of three fields, not null",
    "an escalation must raise the priority": "at least one of three fields, not null or empty",
    "custom field value must be": "the field's definition in the tenant's catalogue (PUT /fields)",
    "is defined as": "the field's kind in the tenant's catalogue (PUT /fields)",
    "field names its options": "options are required for two of the kinds",
    "only enum and multi_enum fields name options": "options are refused for the other kinds",
    "takes only its options": "the field's options in the tenant's catalogue (PUT /fields)",
    "cannot be searched": "a list's field filter against the field's definition (PUT /fields): kind, personal",
    "unknown field": "a condition's field: one of those listed, or custom_fields.<name>",
    "takes a list of 1 to 100 values": "a test's value is a list for in and not_in, depending on its operator",
    "takes value": "whether a test has a value depends on its operator",
    "takes no value": "whether a test has a value depends on its operator",
    "a change test": "change operators test the ticket's fields only",
    "a macro cannot apply another macro": "apply_macro is for triggers' actions only",
    "webhooks are called by triggers and timed rules": "call_webhook is for triggers' and timed rules' actions only",
    "a rule has at most": "a rule's tests counted across its nested conditions",
    "conditions nest at most": "how deep conditions nest",
    "iCalendar": "the body must parse as RFC 5545",
    "a business calendar must be open at least": "the sum of the intervals' lengths",
    "must start before it ends": "an interval's end after its start",
    "time zone": "the IANA database's names",
    "business time is counted over at most": "the span between two moments",
    "working intervals overlap": "intervals of one weekday against each other",
    "is not one of the workflow's states": "a workflow's initial state among its states",
    "the initial state must be of category": "the category of the state named initial",
    "cannot require fields": "the state named initial among the states that require fields",
    "not a state of the workflow": "a transition's ends among the workflow's states",
    "states of category closed are final": "the category of a transition's source",
    "is a loop or is listed twice": "transitions against each other",
    "is listed twice": "state names against each other",
    "only agents and supervisors may be limited to groups": "groups are for two of the six roles",
    "only customers name an organisation": "an organisation is for the customer role only",
    "there is already a user": "the addresses of the users stored before",
    "only customer keys name an organisation": "an organisation is for the customer role only",
    "only agent and supervisor keys may be limited to groups": "groups are for two of the six roles",
    "a customer stays a customer and staff stay staff": "the user's role stored before",
    "is deactivated": "whether the user was deactivated before",
    "no active user": "whether the user was deactivated before",
    "are served by the workflow": "the ticket types of the tenant's other workflows",
    "the workflow has no state": "the states of the ticket's workflow version",
    "requires the custom field": "the custom fields the ticket has set",
    "tickets move to a later version": "the versions of the workflow stored",
    "the mapping names": "the states of the version migrated from",
    "the mapping maps to": "the states of the version migrated to",
    "the mapping is incomplete": "the states of both versions",
    "no parent ticket": "a ticket that exists, of the caller's tenant",
    "to link": "a ticket that exists, of the caller's tenant",
    "cannot be linked to itself": "two ids that differ",
    "to merge into": "a ticket that exists, of the caller's tenant",
    "cannot be merged into itself": "two ids that differ",
    "a bulk change is exactly one of": "exactly one of four fields given",
    "must be groups of the directory": "the groups the tenant's directory has",
    "must be agents of the directory": "the agents the tenant's directory has",
    "in the directory (PUT": "the agents and groups the tenant's directory has",
    "names a ticket type or a tag": "one of two fields given",
    "a timed rule counts hours": "at least one test of the conditions counts hours",
    "hours are counted by timed rules": "time fields belong to timed rules only",
    "hours are compared with gte or lte": "the operators a time field takes",
    "takes a number of hours": "a time test's value depends on its operator",
    "which webhooks may not call": "where a webhook URL's host points (private, loopback, metadata addresses)",
    "url is not a URL": "what the pattern cannot pin down of a URL's host (an IPv6 literal's form)",
    "a filter tests the event, not changes": "a webhook filter's operators: no change tests",
    "webhook endpoints": "how many endpoints the tenant has already",
    "an RRULE": "exactly one of rrule and cron, and the RRULE grammar (RFC 5545)",
    "a cron expression": "the cron grammar: five fields and their ranges",
    "no occurrence": "a rule's days, within its start and end",
    "must come after the start": "the order of two dates",
    "a date and time after": "JSON Schema has no bounds for a date-time",
    "a template holds no personal data": "the field's definition in the tenant's catalogue (PUT /fields)",
    "template does not compile": "the Jinja2 grammar of a notification template",
    "a transcript comes with a ticket opened through chat": "a transcript goes with channel chat only",
    "is in the future": "a transcript message's time against the moment of the hand-off",
    "is before the message ahead of it": "transcript messages' times against each other",
    "contract_until needs a contract": "a customer profile's contract end goes with its contract",
}
_CROSS_FIELD = re.compile("|".join(re.escape(rule) for rule in CROSS_FIELD_RULES))


def _breaks_a_cross_field_rule(response: Any) -> bool:
    """Whether a 422 names one of the CROSS_FIELD_RULES."""
    if response.status_code != 422:
        return False
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        return False
    return _CROSS_FIELD.search(detail) is not None


#: What an uploaded file holds, which a schema cannot state: its type sniffed from its content
#: against LEDGERDESK_ATTACHMENT_TYPES (415), its size against LEDGERDESK_ATTACHMENT_MAX_BYTES (413).
FILE_CONTENT_RULES = {415: "are not accepted here", 413: "a file may be at most"}


def _refuses_a_files_content(response: Any) -> bool:
    """Whether a 413 or 415 is an upload's file refused for what it holds (FILE_CONTENT_RULES)."""
    rule = FILE_CONTENT_RULES.get(response.status_code)
    if rule is None:
        return False
    try:
        return rule in str(response.json().get("detail", ""))
    except ValueError:
        return False


def _sends_a_malformed_if_match(case: schemathesis.Case[Any]) -> bool:
    """Whether the case's If-Match breaks the schema's pattern, though schemathesis calls the case positive.

    Its coverage phase draws header values from letters and digits only. No If-Match is made of
    those, so it has no positive value for the header and sends its negative seed (`0`) in the
    case "all required properties and optional 'if-match'"; the server rightly answers 400.
    """
    value = (case.headers or {}).get("If-Match", (case.headers or {}).get("if-match"))
    return value is not None and re.fullmatch(IF_MATCH_PATTERN, value) is None


@schemathesis.check
def accepts_valid_data(ctx: CheckContext, response: Any, case: schemathesis.Case[Any]) -> bool | None:
    """`positive_data_acceptance`, except for 412, CROSS_FIELD_RULES, FILE_CONTENT_RULES, a malformed If-Match."""
    if response.status_code == PRECONDITION_FAILED or _breaks_a_cross_field_rule(response):
        return None
    if _refuses_a_files_content(response):
        return None
    if _sends_a_malformed_if_match(case):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    accepts_valid_data,
]

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
    """The app and its schema as served, a key per role, and the ids of the seeded tickets."""

    app: ASGIApp
    schema: schemathesis.BaseSchema
    keys: dict[Role, str]
    tickets: list[str]
    # The engine's own admin key, in a tenant of its own: its stateful phase follows `GET /keys` (the
    # tenant's keys) into rotations and revocations, which must not reach the keys the other tests call with.
    engine_key: str


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
        # Hundreds of requests per key within a minute, and as many with a wrong key (ignored_auth
        # tries each operation without and with a forged key), are the point here, not abuse to refuse.
        rate_limit="",
        auth_failure_limit="",
        # Generated `min_position`s lie mostly in the future: answer at once instead of waiting 2 s for each.
        read_wait_seconds=0,
        blob_dir=str(tmp_path_factory.mktemp("blobs")),  # uploaded files, never the working tree's var/
    )
    services = build_services(config, clock=TickingClock())
    services.start_projections()
    keys = {role: services.keys.create(actor_id=f"{role.value}1", role=role, tenant="acme").secret for role in ROLES}
    app = AsServed(create_app(services=services))
    tickets = []
    with TestClient(app, headers={"Authorization": f"Bearer {keys[Role.ADMIN]}"}) as client:
        for n in range(SEEDED_TICKETS):
            opened = client.post("/tickets", json={"title": f"Seeded {n}", "requester_id": "bob", "organisation": "o"})
            assert opened.status_code == 201, opened.text
            tickets.append(opened.json()["id"])
        assigned = client.post(f"/tickets/{tickets[0]}/assignment", json={"assignee": "agent1", "group": "it"})
        assert assigned.status_code == 200, assigned.text
    try:
        engine_key = services.keys.create(actor_id="engine", role=Role.ADMIN, tenant="engine").secret
        yield Api(app, schemathesis.openapi.from_asgi("/openapi.json", app), keys, tickets, engine_key)
    finally:
        asgi.shutdown_lifespans()
        services.close()


# --- schemathesis run --checks all, with stateful testing ------------------------------------------------


def _engine_config(key: str) -> SchemathesisConfig:
    """What `schemathesis run --checks all --mode all --seed 1` sets, sized for CI."""
    # 412 too: RFC 9110 judges a precondition before the content is processed, so a body that breaks
    # a rule only the domain checks (a tag's slug pattern) is answered 412 when If-Match does not match.
    negative_statuses = '["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]'
    return SchemathesisConfig.from_str(
        f"""
seed = 1
# A timed rule's conditions are required and nest (all/any of tests or conditions): hypothesis
# finds such bodies, only more slowly than its health check likes.
suppress-health-check = ["too_slow"]
# CI hosts run the whole suite at once under load; an answer that takes longer than the default
# 10 s there is slow, not wrong (speed is measured in bench/, never in tests).
request-timeout = 120
headers = {{ Authorization = "Bearer {key}" }}

[generation]
mode = "all"
max-examples = {ENGINE_MAX_EXAMPLES}
deterministic = true

[checks]
enabled = true
# Replaced by `accepts_valid_data`, which runs it except for what CROSS_FIELD_RULES say.
positive_data_acceptance.enabled = false
negative_data_rejection.expected-statuses = {negative_statuses}

[phases.stateful]
max-steps = {STATEFUL_MAX_STEPS}
"""
    )


@dataclass(frozen=True)
class Failed:
    """One failing check of the engine run, with the request that made it fail."""

    phase: str
    operation: str
    check: str
    title: str
    request: str
    status: int | None

    def __str__(self) -> str:
        return f"[{self.phase}] {self.operation}: {self.check} ({self.title}) {self.request} -> {self.status}"


def _failures(finished: events.ScenarioFinished) -> Iterator[Failed]:
    recorder = finished.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            title = check.failure_info.failure.title
            interaction = recorder.interactions.get(case_id)
            node = recorder.cases.get(case_id)
            meta = node.value.meta if node is not None else None
            described = getattr(getattr(meta, "phase", None), "data", None)
            title += f" {getattr(described, 'description', '') or ''}"
            request, status = "?", None
            if interaction is not None:
                sent = interaction.request
                request = f"{sent.method} {sent.uri} {(sent.body or b'')[:200]!r}"
                if interaction.response is not None:
                    status = interaction.response.status_code
                    request += f" answered {(interaction.response.content or b'')[:200]!r}"
            yield Failed(finished.phase.value, recorder.label, check.name, title, request, status)


@pytest.mark.timeout(1800)  # every operation through four phases: minutes, growing with the API
def test_every_check_in_every_phase(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app, config=_engine_config(api.engine_key))
    failed: list[Failed] = []
    errors: list[str] = []
    server_errors = requests = 0
    phases: dict[str, str] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failed.extend(_failures(event))
            for interaction in event.recorder.interactions.values():
                requests += 1
                server_errors += interaction.response is not None and interaction.response.status_code >= 500
        elif isinstance(event, events.NonFatalError):
            errors.append(f"[{event.phase}] {event.label}: {event.value!r}"[:500])
        elif isinstance(event, events.FatalError):
            errors.append(repr(event.exception)[:500])
        elif isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status.value
    distinct = sorted({str(f) for f in failed})
    assert not errors, "\n".join(errors)
    assert not distinct, f"{len(distinct)} distinct failures in {requests} requests:\n" + "\n".join(distinct[:60])
    assert server_errors == 0
    # Every phase ran; a phase the engine skipped (no links, say) would silently test nothing.
    assert {name: phases.get(name) for name in ("examples", "coverage", "fuzzing", "stateful")} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    ), phases


# --- each operation, as an admin and as an agent, against seeded tickets ------------------------------------


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
        # Generation speed varies with the machine, not the app; and schemathesis discards what it generates
        # past a bounded pattern (identifiers, slugs) more often for some bodies than others (rule actions).
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
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


# --- what the full run found, as plain regression tests -------------------------------------------------------


@pytest.fixture
def admin(api: Api) -> Iterator[TestClient]:
    with TestClient(api.app, headers={"Authorization": f"Bearer {api.keys[Role.ADMIN]}"}) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/audit/queues?as_of=0.5", "as_of"),
        ("/audit/export?to=0.5", "to"),
        ("/audit/reports/actors?to=0", "to"),
        ("/reports/volume?until=0", "until"),
        ("/tickets/{ticket}?as_of=1700000000", "as_of"),
    ],
)
def test_numbers_are_not_read_as_unix_times(admin: TestClient, api: Api, url: str, parameter: str) -> None:
    # They were: `as_of=0.5` answered the queue at 1970-01-01T00:00:00.5Z.
    response = admin.get(url.format(ticket=api.tickets[0]))
    assert response.status_code == 422, response.text
    assert parameter in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/views", "GET, HEAD, POST"),
        ("PUT", "/tickets", "GET, HEAD, POST"),
        ("PUT", "/tickets/{ticket}", "GET, HEAD, PATCH"),
        ("OPTIONS", "/sla/calendars/std", "GET, HEAD, PUT"),
    ],
)
def test_405_names_every_method_of_the_path(admin: TestClient, api: Api, method: str, url: str, allowed: str) -> None:
    # Starlette named only the first route's methods: DELETE /views said `Allow: GET, HEAD`.
    response = admin.request(method, url.format(ticket=api.tickets[0]))
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


def test_optional_parameters_are_not_nullable(api: Api) -> None:
    # `Ledgerdesk-Min-Position: null` was schema-valid (anyOf integer, null) and answered 422.
    document = create_app().openapi()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                assert "null" not in str(parameter["schema"]), (method, path, parameter["name"])


def test_every_error_answer_is_documented_as_a_problem(api: Api) -> None:
    document = create_app().openapi()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            if operation.get("parameters") or "requestBody" in operation:
                assert "422" in operation["responses"], (method, path)
