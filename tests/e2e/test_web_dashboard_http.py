"""The supervisors' dashboard and live board over plain HTTP, on SQLite and PostgreSQL: the charts' CSV and
filters, who may see them, and that a tenant's figures never reach another tenant.

The scenario (a clock set by hand, so every figure can be checked by hand), read on 2026-11-30 12:00:

- policy `standard`: first response 60 min, resolution 480 (calendar time), from Oct 31;
- T1 (Nov 2, web): 09:00 opened by bob; 09:10 alice, group network; 09:30 alice replies (first response
  30 min, met); 11:00 solved (resolution 120 min, met); 12:00 rated good;
- T2 (Nov 2, email): 10:00 opened; 10:30 carol, group network; never answered (both targets breached);
- T3 (Nov 3, web): 09:00 opened; 09:05 dave, group support; never answered (both targets breached);
- globex (Nov 3, phone): a ticket of another tenant, in a group also called network.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

ALICE, CAROL, DAVE = (Actor(a, ActorKind.AGENT) for a in ("alice", "carol", "dave"))
BOB = Actor("bob", ActorKind.REQUESTER)
OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
NOVEMBER = "from=2026-11-01&to=2026-11-30"


class SetClock:
    """A clock that reads exactly the moment the test set."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: str, time: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{time}:00+00:00")


@pytest.fixture
def clock() -> SetClock:
    return SetClock(at("2026-10-31", "09:00"))


@pytest.fixture
def services(sql_settings: Settings, clock: SetClock) -> Iterator[Services]:
    built = build_services(sql_settings, clock=clock)
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def recorded(services: Services, clock: SetClock) -> int:
    """The scenario above; the last position."""
    desk = services.desk

    def when(day: str, time: str) -> HelpDesk:
        clock.now = at(day, time)
        return desk

    terms = {"name": "Standard", "targets": {"first_response": 60, "resolution": 480}}
    when("2026-10-31", "09:00").define_policy(
        tenant="acme", name="standard", position=1, terms=terms, by=OPERATOR, via="api"
    )
    t1 = when("2026-11-02", "09:00").open_ticket(tenant="acme", title="vpn", requester_id="bob", by=BOB, via="web")
    when("2026-11-02", "09:10").assign(t1.ticket_id, assignee="alice", group="network", by=ALICE, via="web")
    when("2026-11-02", "09:30").add_comment(t1.ticket_id, "on it", public=True, by=ALICE, via="web")
    t2 = when("2026-11-02", "10:00").open_ticket(tenant="acme", title="mail", requester_id="bob", by=BOB, via="email")
    when("2026-11-02", "10:30").assign(t2.ticket_id, assignee="carol", group="network", by=CAROL, via="web")
    when("2026-11-02", "11:00").transition(t1.ticket_id, "solved", by=ALICE, via="web")
    when("2026-11-02", "12:00").rate(t1.ticket_id, "good", by=BOB, via="web")
    t3 = when("2026-11-03", "09:00").open_ticket(tenant="acme", title="desk", requester_id="bob", by=BOB, via="web")
    when("2026-11-03", "09:05").assign(t3.ticket_id, assignee="dave", group="support", by=DAVE, via="web")
    gus = Actor("gus", ActorKind.REQUESTER)
    theirs = when("2026-11-03", "10:00").open_ticket(
        tenant="globex", title="theirs", requester_id="gus", group="network", by=gus, via="phone"
    )
    clock.now = at("2026-11-30", "12:00")
    services.read_models.wait_for(theirs.position, 10.0)
    return theirs.position


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def signed_in(
    services: Services, role: Role, *, tenant: str = "acme", groups: list[str] | None = None
) -> Iterator[TestClient]:
    """A browser-like client signed in as a new user of `role` (in `tenant`, limited to `groups` if given)."""
    email, password = f"{role.value}-{secrets.token_hex(3)}@{tenant}.example", secrets.token_urlsafe(18)
    extra = {"organisation": "initech"} if role is Role.CUSTOMER else {}
    services.create_user(
        email=email,
        password=password,
        actor_id=email.split("@", maxsplit=1)[0],
        role=role,
        tenant=tenant,
        groups=groups,
        by=OPERATOR,
        via="cli",
        **extra,
    )
    with TestClient(create_app(services=services)) as client:
        fields = {"email": email, "password": password, "csrf_token": _token(client.get("/login", headers=HTML).text)}
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
        yield client


@pytest.fixture
def supervisor(services: Services, recorded: int) -> Iterator[TestClient]:
    yield from signed_in(services, Role.SUPERVISOR)


def table(answer_text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer_text)))


def rows_with_values(rows: list[list[str]]) -> list[list[str]]:
    """The rows of a per-day CSV whose total is not zero."""
    return [row for row in rows[1:] if row[-1] != "0"]


def test_the_dashboard_draws_every_chart_as_svg_with_its_numbers_and_links(supervisor: TestClient) -> None:
    page = supervisor.get(f"/dashboard?{NOVEMBER}", headers=HTML)
    assert page.status_code == 200, page.text
    assert page.text.count('role="img"') == 7
    assert page.text.count("<desc id=") == 7
    assert "<script" not in page.text.split("<main")[1]  # charts are drawn on the server: no script in the page body
    assert 'href="/dashboard/volume.csv?from=2026-11-01&amp;to=2026-11-30"' in page.text
    assert "2026-11-02: 2" in page.text  # the volume's text alternative says each day's number
    assert "33.3% (2/6)" in page.text  # standard: 2 of 6 targets met
    assert 'href="/?queue=at_risk&amp;group=network"' in page.text  # a group's row lists its tickets at risk
    assert 'value="2026-11-01"' in page.text  # the form shows the period the address chose
    assert 'href="/dashboard"' in page.text  # the header links the page


def test_each_chart_offers_its_table_as_csv(supervisor: TestClient) -> None:
    volume = supervisor.get(f"/dashboard/volume.csv?{NOVEMBER}")
    assert volume.status_code == 200
    assert volume.headers["content-type"] == "text/csv; charset=utf-8"
    assert volume.headers["content-disposition"] == 'attachment; filename="volume-2026-11-01-2026-11-30.csv"'
    rows = table(volume.text)
    assert rows[0] == ["day", "web", "email", "total"]  # channels most used first
    assert len(rows) == 31  # every day of November
    assert rows_with_values(rows) == [["2026-11-02", "1", "1", "2"], ["2026-11-03", "1", "0", "1"]]

    sla = table(supervisor.get(f"/dashboard/sla-policy.csv?{NOVEMBER}").text)
    assert sla == [["policy", "met", "breached", "compliance_percent"], ["standard", "2", "4", "33.3"]]
    groups = table(supervisor.get(f"/dashboard/sla-group.csv?{NOVEMBER}").text)
    assert groups[0] == ["group", "met", "breached", "compliance_percent"]
    assert sorted(groups[1:]) == [["network", "2", "2", "50.0"], ["support", "0", "2", "0.0"]]

    ages = table(supervisor.get(f"/dashboard/backlog-age.csv?{NOVEMBER}").text)
    assert ages == [
        ["age", "tickets"],
        ["age-under-1", "0"],
        ["age-1-3", "0"],
        ["age-3-7", "0"],
        ["age-7-30", "2"],  # T2 and T3, unsolved, opened 27 and 28 days ago
        ["age-over-30", "0"],
    ]
    times = table(supervisor.get(f"/dashboard/times.csv?{NOVEMBER}").text)
    assert times[0] == ["measure", "statistic", "calendar_minutes", "business_minutes", "tickets"]
    assert times[1][:3] == ["first_response", "median", "30.0"]
    assert times[3][:3] == ["resolution", "median", "120.0"]

    satisfaction = table(supervisor.get(f"/dashboard/csat.csv?{NOVEMBER}").text)
    assert satisfaction[0] == ["week", "ratings", "satisfied", "satisfied_percent"]
    assert ["2026-W45", "1", "1", "100.0"] in satisfaction

    agents = table(supervisor.get(f"/dashboard/agents.csv?{NOVEMBER}").text)
    assert agents[0] == ["agent", "open_now", "solved", "handle_median_minutes"]
    assert sorted(agents[1:]) == [["alice", "0", "1", "110.0"], ["carol", "1", "0", ""], ["dave", "1", "0", ""]]


def test_the_filters_narrow_every_chart_and_the_csv_alike(supervisor: TestClient) -> None:
    page = supervisor.get(f"/dashboard?{NOVEMBER}&group=network", headers=HTML)
    assert page.status_code == 200
    assert 'href="/dashboard/volume.csv?from=2026-11-01&amp;to=2026-11-30&amp;group=network"' in page.text
    assert 'href="/?queue=groups&amp;group=network"' in page.text  # the tickets behind the charts: the group's
    volume = supervisor.get(f"/dashboard/volume.csv?{NOVEMBER}&group=network")
    assert volume.headers["content-disposition"] == 'attachment; filename="volume-network-2026-11-01-2026-11-30.csv"'
    assert rows_with_values(table(volume.text)) == [["2026-11-02", "1", "1", "2"]]  # email and web, one each
    assert table(supervisor.get(f"/dashboard/sla-policy.csv?{NOVEMBER}&group=network").text)[1] == [
        "standard",
        "2",
        "2",
        "50.0",
    ]
    agents = table(supervisor.get(f"/dashboard/agents.csv?{NOVEMBER}&group=support").text)
    assert agents[1:] == [["dave", "1", "0", ""]]
    three_days = table(supervisor.get("/dashboard/volume.csv?from=2026-11-03&to=2026-11-05").text)
    assert [row[0] for row in three_days[1:]] == ["2026-11-03", "2026-11-04", "2026-11-05"]


def test_filters_that_are_not_valid_are_explained(supervisor: TestClient) -> None:
    for query in ("from=2026-11-30&to=2026-11-01", "from=yesterday", "from=2020-01-01&to=2026-11-30"):
        refused = supervisor.get(f"/dashboard?{query}", headers=HTML)
        assert refused.status_code == 422, query
        assert "Choose a period" in refused.text
        assert supervisor.get(f"/dashboard/volume.csv?{query}").status_code == 422
    bad_group = supervisor.get("/dashboard?group=no%20such%20group!", headers=HTML)
    assert bad_group.status_code == 422
    assert "A group's name" in bad_group.text
    assert supervisor.get(f"/dashboard/nothing.csv?{NOVEMBER}").status_code == 404


def test_the_dashboard_speaks_chinese(supervisor: TestClient) -> None:
    supervisor.get("/language?lang=zh_CN&next=/dashboard")
    page = supervisor.get(f"/dashboard?{NOVEMBER}", headers=HTML)
    assert page.status_code == 200
    assert "仪表板" in page.text


@pytest.mark.parametrize(
    ("role", "groups", "allowed"),
    [
        (Role.SUPERVISOR, None, True),
        (Role.ANALYST, None, True),
        (Role.ADMIN, None, True),
        (Role.AGENT, None, False),
        (Role.AUDITOR, None, False),
        (Role.CUSTOMER, None, False),
        (Role.SUPERVISOR, ["network"], False),  # the charts read across the whole tenant
    ],
)
def test_only_those_who_may_read_every_report_see_the_dashboard(
    services: Services, recorded: int, role: Role, groups: list[str] | None, allowed: bool
) -> None:
    for client in signed_in(services, role, groups=groups):
        page = client.get(f"/dashboard?{NOVEMBER}", headers=HTML)
        data = client.get(f"/dashboard/volume.csv?{NOVEMBER}")
        assert (page.status_code, data.status_code) == ((200, 200) if allowed else (403, 403))
        assert ('href="/dashboard"' in client.get("/", headers=HTML).text) is allowed
        if not allowed:
            assert "2026-11-02" not in data.text


def test_no_bearer_key_opens_the_dashboard(services: Services, recorded: int) -> None:
    secret = services.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret
    with TestClient(create_app(services=services)) as client:
        for path in ("/dashboard", "/dashboard/volume.csv", "/board/network"):
            answer = client.get(path, headers={"Authorization": f"Bearer {secret}"}, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")


def test_a_tenant_sees_only_its_own_figures(services: Services, recorded: int) -> None:
    for client in signed_in(services, Role.SUPERVISOR, tenant="globex"):
        rows = table(client.get(f"/dashboard/volume.csv?{NOVEMBER}").text)
        assert rows[0] == ["day", "phone", "total"]
        assert rows_with_values(rows) == [["2026-11-03", "1", "1"]]
        assert table(client.get(f"/dashboard/sla-policy.csv?{NOVEMBER}").text) == [
            ["policy", "met", "breached", "compliance_percent"]
        ]
        assert table(client.get(f"/dashboard/agents.csv?{NOVEMBER}").text)[1:] == []
        board = client.get("/board/network", headers=HTML)
        assert board.status_code == 200
        assert "theirs" in board.text
        assert "mail" not in board.text.split("<main")[1]


def test_the_board_counts_a_groups_open_tickets_by_state_and_sla_risk(supervisor: TestClient) -> None:
    board = supervisor.get("/board/network", headers=HTML)
    assert board.status_code == 200
    assert 'sse-connect="/board/network/live?position=' in board.text
    assert 'data-count="unsolved">1<' in board.text  # T2 (T1 is solved)
    assert 'data-count="breached">1<' in board.text
    assert "mail" in board.text
    assert "vpn" not in board.text
    part = supervisor.get("/board/network?part=board", headers=HTML)
    assert "<html" not in part.text
    assert 'data-count="unsolved">1<' in part.text


@pytest.mark.parametrize(
    ("role", "groups", "allowed"),
    [
        (Role.SUPERVISOR, None, True),
        (Role.AGENT, ["network"], True),
        (Role.AGENT, ["support"], False),  # another group's board
        (Role.ANALYST, None, True),
        (Role.AUDITOR, None, False),
        (Role.CUSTOMER, None, False),
    ],
)
def test_the_board_is_for_those_who_read_the_groups_queue(
    services: Services, recorded: int, role: Role, groups: list[str] | None, allowed: bool
) -> None:
    for client in signed_in(services, role, groups=groups):
        assert client.get("/board/network", headers=HTML).status_code == (200 if allowed else 403)
        if not allowed:
            assert client.get("/board/network/live").status_code == 403
