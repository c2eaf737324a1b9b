"""Service-metric reports (`GET /reports/...`) through the real app on SQLite and PostgreSQL, and their properties.

The scenario below runs on a clock that says exactly what each test sets, so every figure can be
checked by hand; the comments on the scenario give the numbers the assertions rely on.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import DEFAULT_TRANSITIONS, Status, Workflow
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings
from projections.metrics.queries import MetricQueries
from projections.metrics.reports import Grouping, Window, percentile
from tests.support.keys import key

ALICE = Actor("alice", ActorKind.AGENT)
CAROL = Actor("carol", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.REQUESTER)
ADMIN = Actor("root", ActorKind.AGENT)
NOVEMBER = {"since": "2026-11-01", "until": "2026-11-30"}
REPORTS = ("volume", "response-times", "sla-compliance", "backlog", "reopens", "agents", "csat")
# The default lifecycle, plus closing a ticket that was never solved (some desks allow it).
CLOSABLE = Workflow(
    {
        s: allowed | {Status.CLOSED} if s not in (Status.SOLVED, Status.CLOSED) else allowed
        for s, allowed in DEFAULT_TRANSITIONS.items()
    }
)


class SetClock:
    """A clock that reads exactly the moment a test set, as often as it is read."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: str, clock: str = "10:00") -> datetime:
    """A moment of a day (UTC)."""
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


@pytest.fixture
def clock() -> SetClock:
    return SetClock(at("2026-10-30", "09:00"))


@pytest.fixture
def services(read_settings: Settings, clock: SetClock) -> Iterator[Services]:
    built = build_services(read_settings, clock=clock)
    built.desk.standard_moves = CLOSABLE
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


@pytest.fixture
def analyst(services: Services) -> dict[str, str]:
    return key(services, "nina", Role.ANALYST)


@pytest.fixture
def recorded(services: Services, clock: SetClock) -> int:
    """acme's November, and one globex ticket; the last position. The clock ends on 2026-11-30 12:00.

    Policy `standard` (calendar time, pauses in `pending`): first response 60 min, resolution 480.

    - T0 (Oct 30, before the policy and the window): stays open; the backlog before November is 1.
    - T1 (Nov 2, web, incident): 09:00 opened by bob; 09:10 alice, group network; 09:30 alice replies
      (first response 30, met); 09:40-10:40 pending; 11:00 solved by alice (calendar 120, business
      60, met; alice's handle time 110); 12:00 rated good; Nov 5 closed.
    - T2 (Nov 2, email, question): 10:00 opened; 10:15-10:45 pending; 10:30 carol, group network;
      12:00 carol replies (calendar 120, business 90, breached at 11:30); 13:00 solved (handle 150);
      13:30 rated 5. Nov 3 09:00 bob reopens; 10:00 solved (handle 60; calendar resolution 1440,
      business 150 + 60 = 210, met); 10:30 rated 2 (the latest rating: not satisfied).
    - T3 (Nov 3, web, opened by alice): 09:05 group support; never answered (first response
      breached 10:00, resolution breached 17:00); Nov 4 09:00 closed without being solved.
    - T4 (Nov 4, chat): open and unanswered; its targets are stored `active`, due Nov 4 10:00 and
      17:00, so they count as breached when read on Nov 30.
    """
    desk = services.desk

    def when(day: str, time: str) -> HelpDesk:
        clock.now = at(day, time)
        return desk

    when("2026-10-30", "09:00").open_ticket(tenant="acme", title="old", requester_id="bob", by=BOB, via="email")
    terms = {"name": "Standard", "targets": {"first_response": 60, "resolution": 480}}
    when("2026-10-31", "09:00").define_policy(
        tenant="acme", name="standard", position=1, terms=terms, by=ADMIN, via="api"
    )

    t1 = (
        when("2026-11-02", "09:00")
        .open_ticket(tenant="acme", title="vpn", requester_id="bob", ticket_type="incident", by=BOB, via="web")
        .ticket_id
    )
    when("2026-11-02", "09:10").assign(t1, assignee="alice", group="network", by=ALICE, via="web")
    when("2026-11-02", "09:30").add_comment(t1, "on it", public=True, by=ALICE, via="web")
    when("2026-11-02", "09:40").transition(t1, "pending", by=ALICE, via="web")
    when("2026-11-02", "10:00").add_comment(t1, "a note", public=False, by=CAROL, via="web")
    t2 = (
        when("2026-11-02", "10:00")
        .open_ticket(tenant="acme", title="mail", requester_id="bob", ticket_type="question", by=BOB, via="email")
        .ticket_id
    )
    when("2026-11-02", "10:15").transition(t2, "pending", by=CAROL, via="web")
    when("2026-11-02", "10:30").assign(t2, assignee="carol", group="network", by=CAROL, via="web")
    when("2026-11-02", "10:40").transition(t1, "open", by=ALICE, via="web")
    when("2026-11-02", "10:45").transition(t2, "open", by=CAROL, via="web")
    when("2026-11-02", "11:00").transition(t1, "solved", by=ALICE, via="web")
    when("2026-11-02", "12:00").rate(t1, "good", by=BOB, via="web")
    when("2026-11-02", "12:00").add_comment(t2, "try again", public=True, by=CAROL, via="email")
    when("2026-11-02", "13:00").transition(t2, "solved", by=CAROL, via="web")
    when("2026-11-02", "13:30").rate(t2, 5, by=BOB, via="web")

    when("2026-11-03", "09:00").transition(t2, "open", by=BOB, via="email")
    t3 = (
        when("2026-11-03", "09:00")
        .open_ticket(tenant="acme", title="desk", requester_id="bob", by=ALICE, via="web")
        .ticket_id
    )
    when("2026-11-03", "09:05").assign(t3, group="support", by=ALICE, via="web")
    when("2026-11-03", "10:00").transition(t2, "solved", by=CAROL, via="web")
    when("2026-11-03", "10:30").rate(t2, 2, by=BOB, via="web")

    when("2026-11-04", "09:00").transition(t3, "closed", by=ALICE, via="web")
    when("2026-11-04", "09:00").open_ticket(tenant="acme", title="chat", requester_id="bob", by=BOB, via="chat")
    when("2026-11-05", "09:00").transition(t1, "closed", by=ALICE, via="web")
    receipt = when("2026-11-05", "10:00").open_ticket(
        tenant="globex", title="theirs", requester_id="gus", by=Actor("gus", ActorKind.REQUESTER), via="web"
    )
    clock.now = at("2026-11-30", "12:00")
    return receipt.position


def report(client: TestClient, name: str, headers: dict[str, str], position: int, **params: str) -> Any:
    """A report's body, read once the read models have applied `position`."""
    answer = client.get(f"/reports/{name}", params={"min_position": str(position), **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["ledgerdesk-view-position"]) >= position
    return answer.json()


def entries(body: Any, *fields: str) -> list[tuple[Any, ...]]:
    """The given fields of each entry (dotted names reach into nested objects)."""

    def pick(item: Any, name: str) -> Any:
        for part in name.split("."):
            item = item[part]
        return item

    return [tuple(pick(item, f) for f in fields) for item in body["items"]]


# --- the reports, figure by figure -------------------------------------------------------------------------


def test_volume_per_day_lists_every_day(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    body = report(client, "volume", analyst, recorded, **NOVEMBER)
    assert (body["since"], body["until"], body["by"]) == ("2026-11-01", "2026-11-30", "day")
    assert len(body["items"]) == 30
    assert [(k, n) for k, _, _, n in entries(body, "key", "start", "end", "created") if n] == [
        ("2026-11-02", 2),
        ("2026-11-03", 1),
        ("2026-11-04", 1),
    ]
    assert body["items"][0] == {"key": "2026-11-01", "start": "2026-11-01", "end": "2026-11-01", "created": 0}


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("channel", [("web", 2), ("chat", 1), ("email", 1)]),
        ("type", [(None, 2), ("incident", 1), ("question", 1)]),
        ("group", [("network", 2), ("support", 1), (None, 1)]),
        ("all", [(None, 4)]),
        (
            "week",
            [("2026-W44", 0), ("2026-W45", 4), ("2026-W46", 0), ("2026-W47", 0), ("2026-W48", 0), ("2026-W49", 0)],
        ),
        ("month", [("2026-11", 4)]),
    ],
)
def test_volume_by_attribute_or_span(
    client: TestClient, analyst: dict[str, str], recorded: int, by: str, expected: list[tuple[Any, int]]
) -> None:
    body = report(client, "volume", analyst, recorded, by=by, **NOVEMBER)
    assert entries(body, "key", "created") == expected


def test_response_and_resolution_times(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    body = report(client, "response-times", analyst, recorded, **NOVEMBER)
    assert body["by"] == "all"
    [entry] = body["items"]
    assert (entry["key"], entry["start"], entry["end"]) == (None, "2026-11-01", "2026-11-30")
    first, resolution = entry["first_response"], entry["resolution"]
    assert first["calendar"] == {"count": 2, "median_minutes": 75.0, "p90_minutes": 111.0}  # 30, 120
    assert first["business"] == {"count": 2, "median_minutes": 60.0, "p90_minutes": 84.0}  # 30, 90
    assert resolution["calendar"] == {"count": 2, "median_minutes": 780.0, "p90_minutes": 1308.0}  # 120, 1440
    assert resolution["business"] == {"count": 2, "median_minutes": 135.0, "p90_minutes": 195.0}  # 60, 210


def test_times_per_day_and_per_channel(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    by_day = report(client, "response-times", analyst, recorded, by="day", since="2026-11-02", until="2026-11-04")
    assert entries(by_day, "key", "first_response.calendar.count", "resolution.calendar.median_minutes") == [
        ("2026-11-02", 2, 120.0),
        ("2026-11-03", 0, 1440.0),
        ("2026-11-04", 0, None),
    ]
    by_channel = report(client, "response-times", analyst, recorded, by="channel", **NOVEMBER)
    assert entries(by_channel, "key", "first_response.business.median_minutes", "resolution.business.p90_minutes") == [
        ("email", 90.0, 210.0),
        ("web", 30.0, 60.0),
    ]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("policy", [("standard", 3, 5, 37.5)]),
        ("all", [(None, 3, 5, 37.5)]),
        ("target", [("first_response", 1, 3, 25.0), ("resolution", 2, 2, 50.0)]),
        ("group", [("network", 3, 1, 75.0), ("support", 0, 2, 0.0), (None, 0, 2, 0.0)]),
    ],
)
def test_sla_compliance(
    client: TestClient, analyst: dict[str, str], recorded: int, by: str, expected: list[tuple[Any, ...]]
) -> None:
    body = report(client, "sla-compliance", analyst, recorded, by=by, **NOVEMBER)
    assert entries(body, "key", "met", "breached", "compliance_pct") == expected


def test_sla_compliance_per_day_and_target(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    days = {"since": "2026-11-01", "until": "2026-11-05"}
    body = report(client, "sla-compliance", analyst, recorded, by="day", **days)
    assert entries(body, "key", "met", "breached", "compliance_pct") == [
        ("2026-11-01", 0, 0, None),
        ("2026-11-02", 2, 1, 66.67),
        ("2026-11-03", 1, 2, 33.33),
        ("2026-11-04", 0, 2, 0.0),
        ("2026-11-05", 0, 0, None),
    ]
    only = report(client, "sla-compliance", analyst, recorded, by="day", target="resolution", **days)
    assert only["target"] == "resolution"
    assert [(k, m, b) for k, m, b in entries(only, "key", "met", "breached") if m or b] == [
        ("2026-11-02", 1, 0),
        ("2026-11-03", 1, 1),
        ("2026-11-04", 0, 1),
    ]


def test_an_overdue_active_target_is_not_breached_before_its_due_moment(
    client: TestClient, clock: SetClock, analyst: dict[str, str], recorded: int
) -> None:
    clock.now = at("2026-11-04", "09:30")  # T4's first response is due at 10:00
    body = report(client, "sla-compliance", analyst, recorded, by="target", **NOVEMBER)
    assert entries(body, "key", "met", "breached") == [("first_response", 1, 2), ("resolution", 2, 1)]


def test_backlog_per_day(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    body = report(client, "backlog", analyst, recorded, **NOVEMBER)
    assert len(body["items"]) == 30
    fields = ("day", "opened", "solved", "reopened", "closed", "closed_unsolved", "backlog")
    assert entries(body, *fields)[:6] == [
        ("2026-11-01", 0, 0, 0, 0, 0, 1),  # T0, from October
        ("2026-11-02", 2, 2, 0, 0, 0, 1),
        ("2026-11-03", 1, 1, 1, 0, 0, 2),
        ("2026-11-04", 1, 0, 0, 1, 1, 2),  # T3 closed unsolved leaves the backlog
        ("2026-11-05", 0, 0, 0, 1, 0, 2),  # T1 closed once solved does not
        ("2026-11-06", 0, 0, 0, 0, 0, 2),
    ]
    assert body["items"][-1]["backlog"] == 2


def test_reopen_rate(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    body = report(client, "reopens", analyst, recorded, **NOVEMBER)
    assert entries(body, "key", "solved", "reopened", "reopen_pct") == [(None, 3, 1, 33.33)]
    by_day = report(client, "reopens", analyst, recorded, by="day", since="2026-11-02", until="2026-11-04")
    assert entries(by_day, "key", "solved", "reopened", "reopen_pct") == [
        ("2026-11-02", 2, 0, 0.0),
        ("2026-11-03", 1, 1, 100.0),
        ("2026-11-04", 0, 0, None),
    ]


def test_agents(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    body = report(client, "agents", analyst, recorded, **NOVEMBER)
    assert body["items"] == [
        {"agent": "carol", "solved": 2, "handle": {"count": 2, "median_minutes": 105.0, "p90_minutes": 141.0}},
        {"agent": "alice", "solved": 1, "handle": {"count": 1, "median_minutes": 110.0, "p90_minutes": 110.0}},
    ]
    later = report(client, "agents", analyst, recorded, since="2026-11-03", until="2026-11-30")
    assert entries(later, "agent", "solved", "handle.median_minutes") == [("carol", 1, 60.0)]


def test_csat_counts_the_latest_rating_of_each_ticket(
    client: TestClient, analyst: dict[str, str], recorded: int
) -> None:
    body = report(client, "csat", analyst, recorded, **NOVEMBER)
    assert entries(body, "key", "ratings", "satisfied", "satisfied_pct") == [(None, 2, 1, 50.0)]
    by_day = report(client, "csat", analyst, recorded, by="day", since="2026-11-02", until="2026-11-03")
    assert entries(by_day, "key", "ratings", "satisfied") == [("2026-11-02", 1, 1), ("2026-11-03", 1, 0)]
    by_type = report(client, "csat", analyst, recorded, by="type", **NOVEMBER)
    assert entries(by_type, "key", "satisfied_pct") == [("incident", 100.0), ("question", 0.0)]


def test_the_default_window_is_the_last_30_days(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    for name in REPORTS:
        body = report(client, name, analyst, recorded)
        assert (body["since"], body["until"]) == ("2026-11-01", "2026-11-30"), name  # today is Nov 30
    assert report(client, "volume", analyst, recorded, until="2026-11-02", by="all")["items"] == [
        {"key": None, "start": "2026-10-04", "end": "2026-11-02", "created": 3}
    ]


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_on_request(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    params = {"min_position": str(recorded), "by": "channel", **NOVEMBER}
    by_accept = client.get("/reports/volume", params=params, headers={**analyst, "Accept": "text/csv"})
    by_format = client.get("/reports/volume", params={**params, "format": "csv"}, headers=analyst)
    for answer in (by_accept, by_format):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"] == 'attachment; filename="volume-2026-11-01-2026-11-30.csv"'
        assert int(answer.headers["ledgerdesk-view-position"]) >= recorded
        assert answer.text == "key,start,end,created\r\nweb,,,2\r\nchat,,,1\r\nemail,,,1\r\n"
    as_json = client.get(
        "/reports/volume", params={**params, "format": "json"}, headers={**analyst, "Accept": "text/csv"}
    )
    assert as_json.headers["content-type"] == "application/json"


def test_csv_flattens_nested_figures(client: TestClient, analyst: dict[str, str], recorded: int) -> None:
    params = {"min_position": str(recorded), "format": "csv", **NOVEMBER}
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/response-times", params=params, headers=analyst).text)))
    assert list(rows[0]) == [
        "key",
        "start",
        "end",
        "first_response.calendar.count",
        "first_response.calendar.median_minutes",
        "first_response.calendar.p90_minutes",
        "first_response.business.count",
        "first_response.business.median_minutes",
        "first_response.business.p90_minutes",
        "resolution.calendar.count",
        "resolution.calendar.median_minutes",
        "resolution.calendar.p90_minutes",
        "resolution.business.count",
        "resolution.business.median_minutes",
        "resolution.business.p90_minutes",
    ]
    assert (rows[0]["key"], rows[0]["resolution.calendar.p90_minutes"]) == ("", "1308.0")
    agents = client.get("/reports/agents", params=params, headers=analyst).text.splitlines()
    assert agents == [
        "agent,solved,handle.count,handle.median_minutes,handle.p90_minutes",
        "carol,2,2,105.0,141.0",
        "alice,1,1,110.0,110.0",
    ]
    empty = client.get("/reports/agents", params={**params, "until": "2026-11-01"}, headers=analyst).text
    assert empty == "agent,solved,handle.count,handle.median_minutes,handle.p90_minutes\r\n"


# --- who may read, and what ----------------------------------------------------------------------------------


def test_another_tenant_sees_only_its_own(services: Services, client: TestClient, recorded: int) -> None:
    outsider = key(services, "gwen", Role.SUPERVISOR, tenant="globex")
    assert entries(report(client, "volume", outsider, recorded, by="all", **NOVEMBER), "created") == [(1,)]
    assert report(client, "backlog", outsider, recorded, **NOVEMBER)["items"][-1]["backlog"] == 1
    for name in ("agents",):
        assert report(client, name, outsider, recorded, **NOVEMBER)["items"] == [], name
    for name, params in (("sla-compliance", {"by": "policy"}), ("reopens", {"by": "all"}), ("csat", {"by": "all"})):
        body = report(client, name, outsider, recorded, **params, **NOVEMBER)
        assert all(
            sum(v for k, v in item.items() if k in ("met", "breached", "solved", "ratings")) == 0
            for item in body["items"]
        ), name
    nobody = key(services, "ivy", Role.ADMIN, tenant="initech")
    assert report(client, "backlog", nobody, recorded, **NOVEMBER)["items"][-1]["backlog"] == 0


@pytest.mark.parametrize("role", list(Role))
def test_reports_are_for_supervisors_analysts_and_admins(services: Services, client: TestClient, role: Role) -> None:
    headers = key(services, f"{role.value}1", role)
    for name in REPORTS:
        answer = client.get(f"/reports/{name}", headers=headers)
        if role in (Role.SUPERVISOR, Role.ANALYST, Role.ADMIN):
            assert answer.status_code == 200, (name, answer.text)
        else:
            assert answer.status_code == 403, (name, role)
            assert answer.headers["content-type"] == "application/problem+json"
    assert client.get("/reports/volume").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"from": "2026-11-01"},
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"format": "xml"},
        {"min_position": "-1"},
        {"by": "hour"},
        {"since": "1969-12-31"},
        {"until": "9999-12-31"},
        {"since": "2000-01-01", "until": "2026-01-01"},  # more than ten years
        {"since": "2000-01-01"},  # ... up to today
    ],
)
def test_bad_report_requests(client: TestClient, analyst: dict[str, str], params: dict[str, str]) -> None:
    for name in REPORTS:
        answer = client.get(f"/reports/{name}", params=params, headers=analyst)
        assert answer.status_code == 422, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("name", "by"), [("volume", "policy"), ("reopens", "group"), ("csat", "target")])
def test_groupings_a_report_does_not_have_are_rejected(
    client: TestClient, analyst: dict[str, str], name: str, by: str
) -> None:
    assert client.get(f"/reports/{name}", params={"by": by}, headers=analyst).status_code == 422
    assert client.get("/reports/volume", params={"target": "resolution"}, headers=analyst).status_code == 422


def test_the_reports_are_described_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for name in REPORTS:
        operation = schema["paths"][f"/reports/{name}"]["get"]
        assert operation["description"], name
        assert {p["name"] for p in operation["parameters"]} >= {"since", "until", "format"}, name
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}, name


# --- properties: the reports equal brute-force recounts from the event log -----------------------------------

DAY0 = date(2026, 11, 2)
steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # days to move the clock on
        st.integers(min_value=0, max_value=2),  # which ticket (a new one is opened when it does not exist yet)
        # Weighted so that solve -> reopen -> solve sequences are common and closing (final) is rarer.
        st.sampled_from(
            [
                "open",
                "open",
                "pending",
                "on_hold",
                "solved",
                "solved",
                "solved",
                "closed",
                "assign",
                "unassign",
                "reply",
            ]
        ),
        st.integers(min_value=1, max_value=600),  # minutes to move the clock on
    ),
    max_size=60,
)


def run_history(desk: HelpDesk, clock: SetClock, script: list[tuple[int, int, str, int]]) -> list[UUID]:
    """Run a random history on a clock moving forward; rejected commands store nothing."""
    clock.now = datetime.combine(DAY0, datetime.min.time(), UTC)
    ids: list[UUID] = []
    for days, which, command, minutes in script:
        clock.now += timedelta(days=days, minutes=minutes)
        if which >= len(ids):
            ids.append(desk.open_ticket(tenant="acme", title="t", requester_id="bob", by=BOB, via="web").ticket_id)
            continue
        ticket_id = ids[which]
        try:
            if command == "assign":
                desk.assign(ticket_id, assignee=f"agent{minutes % 2}", by=ALICE, via="web")
            elif command == "unassign":
                desk.unassign(ticket_id, by=ALICE, via="web")
            elif command == "reply":
                desk.add_comment(ticket_id, "hi", public=True, by=ALICE, via="web")
            else:
                desk.transition(ticket_id, command, by=ALICE, via="web")
        except DomainError:
            continue
    return ids


def brute_force(desk: HelpDesk, ids: list[UUID], window: Window) -> dict[str, Any]:
    """Backlog per day, solves and reopens, solves per agent and volume per day, replayed from each ticket's events."""
    unsolved = {"new", "open", "pending", "on_hold"}
    history = {i: list(desk.events.get(i)) for i in ids}
    backlog = []
    for day in window.days():
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        count = 0
        for events in history.values():
            status = None
            for e in events:
                if e.timestamp < end:
                    status = e.new_status if isinstance(e, Ticket.Transitioned) else status or "new"
            count += status in unsolved
        backlog.append(count)
    solved = reopened = 0
    agents: dict[str, int] = {}
    for events in history.values():
        assignee = None
        for e in events:
            assignee = (
                e.assignee if isinstance(e, Ticket.Assigned) else None if isinstance(e, Ticket.Unassigned) else assignee
            )
            if isinstance(e, Ticket.Transitioned) and window.start <= e.timestamp < window.end:
                if e.new_status == "solved":
                    solved += 1
                    if assignee is not None:
                        agents[assignee] = agents.get(assignee, 0) + 1
                reopened += e.old_status == "solved" and e.new_status in unsolved
    created = {day: sum(events[0].timestamp.date() == day for events in history.values()) for day in window.days()}
    return {"backlog": backlog, "solved": solved, "reopened": reopened, "agents": agents, "created": created}


@settings(max_examples=300, deadline=None)
@given(script=steps, since_offset=st.integers(min_value=0, max_value=20), length=st.integers(min_value=1, max_value=40))
def test_reports_equal_a_recount_from_the_events(
    script: list[tuple[int, int, str, int]], since_offset: int, length: int
) -> None:
    clock = SetClock(datetime.combine(DAY0, datetime.min.time(), UTC))
    services = build_services(Settings(database_url="memory://"), clock=clock)
    try:
        services.desk.standard_moves = CLOSABLE
        ids = run_history(services.desk, clock, script)
        ProjectionWorker(services.desk, services.read_models, batch_size=5).catch_up()
        since = DAY0 - timedelta(days=3) + timedelta(days=since_offset)
        window = Window(since, since + timedelta(days=length - 1))
        expected = brute_force(services.desk, ids, window)

        for generation in (1, rebuild(services.desk, services.read_models).new_generation):
            view = services.read_models.view(generation)
            queries = MetricQueries(view.datastore, view.dialect, view.names)
            assert [d.backlog for d in queries.backlog("acme", window)] == expected["backlog"]
            [whole] = queries.reopens("acme", window, Grouping.ALL)
            assert (whole.solved, whole.reopened) == (expected["solved"], expected["reopened"])
            assert {a.agent: a.solved for a in queries.agents("acme", window)} == expected["agents"]
            volume = queries.volume("acme", window, Grouping.DAY)
            assert {e.bucket.start: e.created for e in volume} == expected["created"]
    finally:
        services.close()


@given(values=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=60))
def test_percentiles_match_a_brute_force_definition(values: list[float]) -> None:
    ordered = sorted(values)
    assert percentile(values, 0) == ordered[0]
    assert percentile(values, 100) == ordered[-1]
    if len(values) == 1:
        assert percentile(values, 50) == percentile(values, 90) == values[0]
        return
    assert percentile(values, 50) == pytest.approx(statistics.median(values), rel=1e-12, abs=1e-9)
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert percentile(values, 90) == pytest.approx(deciles[8], rel=1e-12, abs=1e-9)
    assert ordered[0] <= percentile(values, 50) <= percentile(values, 90) <= ordered[-1]  # type: ignore[operator]


def test_percentiles_by_hand() -> None:
    assert percentile([], 50) is None
    assert percentile([30, 120], 90) == 111
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9.1
    assert percentile([7, 1, 3], 50) == 3
