"""Analyst exports (docs/analytics.md) on SQLite and PostgreSQL: files read back with pyarrow, queried with DuckDB.

The scenario, on a clock the test sets (acme's November, one globex ticket):

- policy `standard`: first response 60 minutes, resolution 480, calendar time;
- T1 (Nov 2 09:00, web, group network): alice replies publicly at 09:30 (first response 30 min, met),
  writes an internal note at 09:40, solves it at 10:00 (resolution met);
- T2 (Nov 2 10:00, email, group network): carol replies at 12:00 (first response 120 min, breached);
- T3 (Nov 10 09:00, chat, group support): unanswered (its targets stay active);
- G1 (Nov 10 10:00, globex, web): another tenant's, never in acme's exports.

Titles, descriptions, names, comment bodies and the personal custom field `contact` hold `SECRET`,
which no export may carry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.values import FieldValue
from infrastructure.composition import Services, build_services
from infrastructure.exports.export import SCHEMAS, export_file
from infrastructure.exports.scope import PAGE, Dataset, ExportScope, FileFormat
from infrastructure.settings import Settings
from tests.support.keys import key
from tests.support.processes import cli_env, run_cli

ALICE = Actor("alice", ActorKind.AGENT)
CAROL = Actor("carol", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.REQUESTER)
ADMIN = Actor("root", ActorKind.AGENT)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


class SetClock:
    """A clock that reads exactly the moment a test set."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


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
    """The scenario of the module docstring; the read models have applied it."""
    desk = services.desk

    def when(day: str, time: str) -> HelpDesk:
        clock.now = at(day, time)
        return desk

    terms = {"name": "Standard", "targets": {"first_response": 60, "resolution": 480}}
    when("2026-10-31", "09:00").define_policy(
        tenant="acme", name="standard", position=1, terms=terms, by=ADMIN, via="api"
    )
    desk.define_field(tenant="acme", name="contact", kind="text", personal=True, by=ADMIN, via="api")
    desk.define_field(tenant="acme", name="region", kind="text", personal=False, by=ADMIN, via="api")
    secret = {
        "description": "SECRET description",
        "requester_name": "SECRET Name",
        "requester_email": "s@x.example",
        "custom_fields": {
            "contact": FieldValue.parse("text", "SECRET phone"),
            "region": FieldValue.parse("text", "north"),
        },
    }
    t1 = (
        when("2026-11-02", "09:00")
        .open_ticket(
            tenant="acme", title="SECRET vpn", requester_id="bob", group="network", by=BOB, via="web", **secret
        )
        .ticket_id
    )
    when("2026-11-02", "09:30").add_comment(t1, "SECRET reply", public=True, by=ALICE, via="web")
    when("2026-11-02", "09:40").add_comment(t1, "SECRET note!", public=False, by=ALICE, via="web")
    when("2026-11-02", "10:00").transition(t1, "solved", by=ALICE, via="web")
    t2 = (
        when("2026-11-02", "10:00")
        .open_ticket(tenant="acme", title="SECRET mail", requester_id="bob", group="network", by=BOB, via="email")
        .ticket_id
    )
    when("2026-11-02", "12:00").add_comment(t2, "SECRET", public=True, by=CAROL, via="email")
    when("2026-11-10", "09:00").open_ticket(
        tenant="acme", title="SECRET chat", requester_id="bob", group="support", by=BOB, via="chat"
    )
    receipt = when("2026-11-10", "10:00").open_ticket(
        tenant="globex", title="SECRET theirs", requester_id="gus", by=Actor("gus", ActorKind.REQUESTER), via="web"
    )
    clock.now = at("2026-11-30", "12:00")
    services.read_models.wait_for(receipt.position, 30)
    return receipt.position


def exported(
    services: Services, dataset: Dataset, fmt: FileFormat, folder: Path, *, page: int = PAGE, **scope: Any
) -> pa.Table:
    """Export a dataset to a file in `folder` and read it back with pyarrow (CSV typed by the dataset's schema)."""
    path = folder / f"{dataset}.{fmt}"
    rows = export_file(services, dataset, fmt, ExportScope(**scope), path, page=page)
    return _read(path, dataset, fmt, rows)


def _read(path: Path, dataset: Dataset, fmt: FileFormat, rows: int) -> pa.Table:
    schema = SCHEMAS[dataset]
    if fmt is FileFormat.PARQUET:
        table = pq.read_table(path)
    else:
        options = pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True)
        table = pa_csv.read_csv(path, convert_options=options)
    assert table.num_rows == rows
    return table


def _types(table: pa.Table) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in table.schema]


# --- each dataset, each format ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_every_dataset_reads_back_typed_with_utc_times(
    services: Services, recorded: int, tmp_path: Path, fmt: FileFormat
) -> None:
    tables = {d: exported(services, d, fmt, tmp_path, tenant="acme") for d in Dataset}
    for dataset, table in tables.items():
        assert _types(table) == _types(SCHEMAS[dataset].empty_table()), dataset
        times = [f for f in table.schema if pa.types.is_timestamp(f.type)]
        assert times, dataset
        assert all(f.type == pa.timestamp("us", tz="UTC") for f in times), dataset
    tickets = {r["channel"]: r for r in tables[Dataset.TICKETS].to_pylist()}
    assert sorted(tickets) == ["chat", "email", "web"]
    assert tickets["web"]["created_at"] == at("2026-11-02", "09:00")
    assert tickets["web"]["first_agent_reply_at"] == at("2026-11-02", "09:30")
    assert tickets["web"]["status_category"] == "solved"
    assert (tickets["web"]["public_comments"], tickets["web"]["internal_notes"]) == (1, 1)
    assert tickets["chat"]["sla_due_at"] == at("2026-11-10", "10:00")
    assert json.loads(tickets["web"]["custom_fields"]) == {
        "contact": {"kind": "text", "owner": "bob", "value": None},
        "region": {"kind": "text", "value": "north"},
    }
    comments = tables[Dataset.COMMENTS].to_pylist()
    assert [(c["author_id"], c["public"], c["body_length"]) for c in comments] == [
        ("alice", True, len("SECRET reply")),
        ("alice", False, len("SECRET note!")),
        ("carol", True, len("SECRET")),
    ]
    assert comments[0]["created_at"] == at("2026-11-02", "09:30")
    events = tables[Dataset.EVENTS].to_pylist()
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert {e["tenant"] for e in events} == {"acme"}
    assert sum(e["type"] == "Ticket.Opened" for e in events) == 3
    assert {e["type"] for e in events} >= {"Ticket.CommentAdded", "Ticket.Transitioned"}
    opened = next(e for e in events if e["type"] == "Ticket.Opened")
    assert (opened["actor_id"], opened["actor_kind"], opened["via"]) == ("bob", "requester", "web")
    assert opened["causation_id"] is None  # a command of its own, caused by no other event
    assert '"requester_id":"bob"' in opened["data"]
    assert '"title":null' in opened["data"]
    sla = {(r["ticket_id"], r["target"]): r for r in tables[Dataset.SLA].to_pylist()}
    assert len(sla) == 6  # three tickets, two targets each
    assert sorted(r["state"] for r in sla.values() if r["target"] == "first_response") == ["active", "breached", "met"]


def test_no_personal_value_is_in_any_export(services: Services, recorded: int, tmp_path: Path) -> None:
    for fmt in FileFormat:
        for dataset in Dataset:
            table = exported(services, dataset, fmt, tmp_path, tenant=None)
            assert "SECRET" not in str(table.to_pylist()), (dataset, fmt)
            assert "s@x.example" not in str(table.to_pylist()), (dataset, fmt)
        assert b"SECRET" not in b"".join(p.read_bytes() for p in tmp_path.glob("*.csv"))
    assert "title" not in SCHEMAS[Dataset.TICKETS].names


def test_an_erased_author_s_comments_have_no_length(services: Services, recorded: int, tmp_path: Path) -> None:
    services.eraser().erase(tenant="acme", person_id="alice", by=ADMIN, via="api")
    comments = exported(services, Dataset.COMMENTS, FileFormat.PARQUET, tmp_path, tenant="acme").to_pylist()
    assert [(c["author_id"], c["body_length"]) for c in comments] == [
        ("alice", None),
        ("alice", None),
        ("carol", len("SECRET")),
    ]


def test_tenant_and_since_narrow_the_rows(services: Services, recorded: int, tmp_path: Path) -> None:
    everyone = exported(services, Dataset.TICKETS, FileFormat.PARQUET, tmp_path)
    assert sorted(everyone.column("tenant").to_pylist()) == ["acme", "acme", "acme", "globex"]
    globex = exported(services, Dataset.EVENTS, FileFormat.PARQUET, tmp_path, tenant="globex")
    assert set(globex.column("tenant").to_pylist()) == {"globex"}
    since = at("2026-11-05", "00:00")
    later = exported(services, Dataset.TICKETS, FileFormat.PARQUET, tmp_path, tenant="acme", since=since)
    assert later.column("channel").to_pylist() == ["chat"]
    events = exported(services, Dataset.EVENTS, FileFormat.PARQUET, tmp_path, tenant="acme", since=since)
    assert events.num_rows >= 1
    assert all(moment >= since for moment in events.column("recorded_at").to_pylist())
    comments = exported(services, Dataset.COMMENTS, FileFormat.CSV, tmp_path, tenant="acme", since=since)
    assert comments.num_rows == 0
    sla = exported(services, Dataset.SLA, FileFormat.PARQUET, tmp_path, tenant="acme", since=since)
    assert sla.num_rows == 2


def test_many_pages_keep_every_row_once(services: Services, clock: SetClock, tmp_path: Path) -> None:
    clock.now = at("2026-11-02", "09:00")
    receipts = [
        services.desk.open_ticket(tenant="acme", title=f"t{i}", requester_id="bob", by=BOB, via="web")
        for i in range(23)
    ]
    services.read_models.wait_for(receipts[-1].position, 30)
    table = exported(services, Dataset.TICKETS, FileFormat.PARQUET, tmp_path, page=5, tenant="acme")
    events = exported(services, Dataset.EVENTS, FileFormat.PARQUET, tmp_path, page=4, tenant="acme")
    assert sorted(table.column("ticket_id").to_pylist()) == sorted(str(r.ticket_id) for r in receipts)
    assert pq.ParquetFile(tmp_path / "tickets.parquet").num_row_groups == 5
    assert events.column("position").to_pylist() == [r.position for r in receipts]


# --- the documented DuckDB queries ------------------------------------------------------------------------


def documented_queries() -> list[str]:
    """The SQL blocks of docs/analytics.md's DuckDB section, in order."""
    section = DOCS.read_text().partition("### Questions answered with DuckDB")[2].partition("\n### ")[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_the_documented_duckdb_queries_answer(services: Services, recorded: int, tmp_path: Path) -> None:
    for dataset in Dataset:
        exported(services, dataset, FileFormat.PARQUET, tmp_path, tenant="acme")
    db = duckdb.connect()
    db.execute(f"SET file_search_path = '{tmp_path}'")
    db.execute("SET TimeZone = 'Asia/Shanghai'")  # the queries' weeks and days stay UTC ones
    volume, first_response, compliance, backlog, transitions, comments = (
        db.sql(query).fetchall() for query in documented_queries()
    )
    monday = datetime(2026, 11, 2)
    week = datetime(2026, 11, 9)
    assert volume == [(monday, "email", 1), (monday, "web", 1), (week, "chat", 1)]
    # network: 30 and 120 minutes; p90 by interpolation = 30 + 0.9 * 90 = 111.
    assert first_response == [("network", 2, 111.0)]
    assert compliance == [("standard", "first_response", 1, 1, 50.0), ("standard", "resolution", 1, 0, 100.0)]
    assert sum(count for _, count in backlog) == 2  # T2 and T3 are unsolved
    assert transitions == [(datetime(2026, 11, 2).date(), "web", 1)]
    assert comments == [("alice", 1, 1, 12.0), ("carol", 1, 0, 6.0)]


# --- the command line ----------------------------------------------------------------------------------------


def test_the_command_writes_a_file_and_reports_mistakes_in_one_line(
    sql_settings: Settings, services: Services, recorded: int, tmp_path: Path
) -> None:
    env = cli_env(sql_settings)
    out = tmp_path / "cli-events.parquet"
    done = run_cli("export", "events", "--format", "parquet", "--output", str(out), "--tenant", "acme", env=env)
    assert done.returncode == 0, done.stderr
    assert "rows of events written" in done.stderr.splitlines()[-1]
    table = pq.read_table(out)
    assert table.schema.field("recorded_at").type == pa.timestamp("us", tz="UTC")
    assert set(table.column("tenant").to_pylist()) == {"acme"}
    csv_out = tmp_path / "cli-sla.csv"
    since = ["--since", "2026-11-05T00:00:00"]
    done = run_cli("export", "sla", "--format", "csv", "--output", str(csv_out), *since, env=env)
    assert done.returncode == 0, done.stderr
    assert _read(csv_out, Dataset.SLA, FileFormat.CSV, 2).num_rows == 2
    bad = run_cli("export", "tickets", "--output", str(tmp_path / "x.parquet"), "--since", "yesterday", env=env)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("ledgerdesk: error: --since 'yesterday' is not an ISO-8601 moment")
    assert not (tmp_path / "x.parquet").exists()
    unknown = run_cli("export", "everything", "--output", str(tmp_path / "x.parquet"), env=env)
    assert (unknown.returncode, unknown.stderr.count("\n")) == (2, 1)
    assert unknown.stderr == "ledgerdesk: error: dataset 'everything' is not one of tickets, events, sla, comments\n"
    xlsx = run_cli("export", "sla", "--format", "xlsx", "--output", str(tmp_path / "x.xlsx"), env=env)
    assert (xlsx.returncode, xlsx.stderr) == (2, "ledgerdesk: error: --format 'xlsx' is not one of parquet, csv\n")
    nowhere = run_cli("export", "tickets", "--output", str(tmp_path / "no" / "x.parquet"), env=env)
    assert nowhere.returncode == 2
    assert nowhere.stderr.count("\n") == 1
    assert nowhere.stderr.startswith("ledgerdesk: error: cannot write")


# --- over HTTP ---------------------------------------------------------------------------------------------


def test_analysts_download_their_tenant_only(services: Services, recorded: int, tmp_path: Path) -> None:
    with TestClient(create_app(services=services)) as client:
        analyst = key(services, "nina", Role.ANALYST)
        answer = client.get("/exports/tickets", headers=analyst)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/vnd.apache.parquet"
        assert answer.headers["content-disposition"] == 'attachment; filename="tickets.parquet"'
        (tmp_path / "http.parquet").write_bytes(answer.content)
        assert sorted(pq.read_table(tmp_path / "http.parquet").column("tenant").to_pylist()) == ["acme"] * 3
        events = client.get(
            "/exports/events", params={"format": "csv", "since": "2026-11-10T00:00:00Z"}, headers=analyst
        )
        assert events.status_code == 200, events.text
        assert events.headers["content-disposition"] == 'attachment; filename="events.csv"'
        assert events.headers["content-type"].startswith("text/csv")
        (tmp_path / "http.csv").write_bytes(events.content)
        rows = _read(tmp_path / "http.csv", Dataset.EVENTS, FileFormat.CSV, events.content.count(b"\n") - 1)
        assert set(rows.column("tenant").to_pylist()) == {"acme"}
        assert "globex" not in events.text
        assert all(moment >= at("2026-11-10", "00:00") for moment in rows.column("recorded_at").to_pylist())
        globex = client.get("/exports/comments?format=csv", headers=key(services, "gina", Role.ANALYST, "globex"))
        assert globex.status_code == 200
        assert globex.text.count("\n") == 1  # the header alone: globex has no comments, acme's are not its own
        agent = client.get("/exports/tickets", headers=key(services, "alice", Role.AGENT))
        assert agent.status_code == 403
        assert agent.headers["content-type"] == "application/problem+json"
        bad = client.get("/exports/tickets", params={"format": "xlsx"}, headers=analyst)
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert client.get("/exports/everything", headers=analyst).status_code in (404, 422)
