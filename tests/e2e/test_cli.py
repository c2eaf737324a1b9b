"""The `ledgerdesk` command line, run as a user runs it: as a separate process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from api.sla_schemas import TargetOut
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from projections.tickets.queries import Sort, TicketFilter
from tests.support.processes import CLI
from tests.support.processes import cli_env as _env
from tests.support.processes import free_port as _free_port
from tests.support.processes import run_cli as _run
from tests.support.processes import wait_healthy as _wait_healthy


def test_keys_create_prints_the_key_alone_on_the_last_line(sql_settings: Settings) -> None:
    done = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=_env(sql_settings))
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ldk_")
    assert " " not in last


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@127.0.0.1/x", "unsupported database URL scheme 'mysql'"),
        ("postgresql://root@127.0.0.1:1/x", "cannot connect to PostgreSQL at 127.0.0.1:1/x"),
        ("sqlite:///", "names no file"),
    ],
)
def test_bad_settings_fail_with_one_line(url: str, message: str) -> None:
    done = _run("serve", env={"LEDGERDESK_DATABASE_URL": url})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("ledgerdesk: error: ")
    assert message in done.stderr


def test_bad_arguments_fail_clearly(sqlite_settings: Settings) -> None:
    done = _run("keys", "create", "--actor", "alice", "--role", "wizard", "--tenant", "acme", env=_env(sqlite_settings))
    assert done.returncode == 2
    assert "wizard" in done.stderr
    done = _run("keys", "create", "--actor", "a b", "--role", "agent", "--tenant", "acme", env=_env(sqlite_settings))
    assert done.returncode == 2
    assert done.stderr.startswith("ledgerdesk: error: actor id must be")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_on_loopback(sql_settings: Settings, tmp_path: Path, workers: int) -> None:
    env = _env(sql_settings)
    key = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    secret = key.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, tmp_path / "serve.log")
        auth = {"Authorization": f"Bearer {secret}"}
        for _ in range(4):  # several requests, so more than one worker may answer
            created = httpx.post(f"{base}/tickets", json={"title": "hi", "requester_id": "bob"}, headers=auth)
            assert created.status_code == 201, created.text
            assert httpx.get(f"{base}{created.headers['location']}", headers=auth).status_code == 200
        assert httpx.get(f"{base}/events", headers=auth).status_code == 200
        if not sql_settings.database_url.startswith("sqlite"):
            return  # on PostgreSQL the projection worker is a process of its own (tested below)
        position = created.headers["ledgerdesk-position"]
        queue = httpx.get(f"{base}/queues/unassigned", params={"min_position": position}, headers=auth, timeout=10)
        assert queue.status_code == 200, queue.text
        assert [t["title"] for t in queue.json()["items"]] == ["hi"] * 4
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_rebuild_switches_to_a_new_generation(sql_settings: Settings) -> None:
    env = _env(sql_settings)
    services = build_services(sql_settings)
    try:
        ticket = services.desk.open_ticket(
            tenant="acme", title="hi", requester_id="bob", by=Actor("alice", ActorKind.AGENT), via="api"
        )
        services.desk.assign(ticket.ticket_id, group="it", by=Actor("alice", ActorKind.AGENT), via="api")
    finally:
        services.close()
    for generation in (2, 3):
        done = _run("rebuild", "tickets", env=env)
        assert done.returncode == 0, done.stderr
        assert f"rebuilt as generation {generation} up to position 2" in done.stdout
    services = build_services(sql_settings)
    try:
        assert services.read_models.active_generation(fresh=True) == 3
        rows = services.read_models.tickets().list_tickets(TicketFilter(tenant="acme"), sort=Sort.NEWEST, limit=10)
        assert [(r.title, r.group) for r in rows.rows] == [("hi", "it")]
    finally:
        services.close()
    assert _run("rebuild", "sla", env=env).returncode == 2


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_production_shape_api_workers_and_a_projection_worker(sql_settings: Settings, tmp_path: Path) -> None:
    env = _env(sql_settings)
    secret = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    auth = {"Authorization": f"Bearer {secret.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    logs = [(tmp_path / name).open("w") for name in ("serve.log", "project.log")]
    processes = [
        subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, **env},
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen([*CLI, "project"], env={**os.environ, **env}, stdout=logs[1], stderr=subprocess.STDOUT),
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, tmp_path / "serve.log")
        positions = []
        for n in range(6):
            created = httpx.post(f"{base}/tickets", json={"title": f"t{n}", "requester_id": "bob"}, headers=auth)
            assert created.status_code == 201, created.text
            positions.append(int(created.headers["ledgerdesk-position"]))
        queue = httpx.get(
            f"{base}/queues/unassigned", params={"min_position": max(positions)}, headers=auth, timeout=10
        )
        assert queue.status_code == 200
        assert sorted(t["title"] for t in queue.json()["items"]) == [f"t{n}" for n in range(6)]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        for log in logs:
            log.close()


def test_audit_show_and_diff(sqlite_settings: Settings) -> None:
    env = _env(sqlite_settings)
    services = build_services(sqlite_settings)
    alice = Actor("alice", ActorKind.AGENT)
    try:
        ticket = services.desk.open_ticket(tenant="acme", title="hi", requester_id="bob", by=alice, via="api")
        services.desk.assign(ticket.ticket_id, assignee="carol", by=alice, via="api")
    finally:
        services.close()
    shown = _run("audit", "show", str(ticket.ticket_id), "--version", "1", env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"assignee": null' in shown.stdout
    now = _run("audit", "show", str(ticket.ticket_id), env=env)
    assert '"assignee": "carol"' in now.stdout
    before = _run("audit", "show", str(ticket.ticket_id), "--as-of", "2000-01-01T00:00:00", env=env)
    assert before.returncode == 2
    assert before.stderr.startswith("ledgerdesk: error: ticket")
    diff = _run("audit", "diff", str(ticket.ticket_id), "1", "2", env=env)
    assert diff.stdout.strip() == 'assignee: null -> "carol"'


def test_keys_list_revoke_rotate(sql_settings: Settings) -> None:
    env = _env(sql_settings)
    made = _run("keys", "create", "--actor", "alice", "--role", "agent", "--tenant", "acme", env=env)
    secret = made.stdout.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    listed = _run("keys", "list", env=env)
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "actor", "role", "tenant", "created", "state"]
    assert row.startswith(f"{key_id}  agent alice")
    assert row.index("agent alice") == header.index("actor")  # columns line up under their names
    assert row.endswith("  live")
    assert secret not in listed.stdout

    rotated = _run("keys", "rotate", key_id, env=env)
    assert rotated.returncode == 0, rotated.stderr
    new_secret = rotated.stdout.strip().splitlines()[-1]
    services = build_services(sql_settings)
    try:
        assert services.keys.authenticate(secret) is None
        renewed = services.keys.authenticate(new_secret)
        assert renewed is not None
        assert (renewed.actor.id, renewed.role.value, renewed.tenant) == ("alice", "agent", "acme")
    finally:
        services.close()
    new_id = new_secret.split("_")[1]
    assert _run("keys", "revoke", new_id, env=env).returncode == 0
    again = _run("keys", "revoke", new_id, env=env)
    assert again.returncode == 2
    assert again.stderr.strip() == f"ledgerdesk: error: no live key {new_id}"


def test_privacy_erase(sqlite_settings: Settings) -> None:
    services = build_services(sqlite_settings)
    try:
        opened = services.desk.open_ticket(
            tenant="acme", title="Dana's phone", requester_id="dana", by=Actor("alice", ActorKind.AGENT), via="phone"
        )
        services.start_projections()
        services.read_models.wait_for(opened.position or 0, 10)
    finally:
        services.close()

    done = _run("privacy", "erase", "dana", "--tenant", "acme", "--by", "dpo", env=_env(sqlite_settings))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "erased dana in acme: 1 ticket recorded the erasure, 1 key destroyed, 0 kept responses dropped"
    )

    services = build_services(sqlite_settings)
    try:
        assert services.desk.get_ticket(opened.ticket_id).title == "[erased]"
        assert services.desk.history(opened.ticket_id)[-1].actor_id == "dpo"
    finally:
        services.close()
    bad = _run("privacy", "erase", "not an id", "--tenant", "acme", env=_env(sqlite_settings))
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1


def test_sla_recompute(sqlite_settings: Settings) -> None:
    services = build_services(sqlite_settings)
    admin = Actor("boss", ActorKind.AGENT, role="admin")
    try:
        services.desk.define_policy(
            tenant="acme", name="standard", position=1, terms={"targets": {"first_response": 60}}, by=admin, via="api"
        )
        opened = services.desk.open_ticket(tenant="acme", title="x", requester_id="bob", by=admin, via="api")
    finally:
        services.close()
    later = (opened.ticket.created_on + timedelta(hours=2)).isoformat()
    args = ["sla", "recompute", str(opened.ticket_id), "--tenant", "acme", "--policy", "standard", "--at", later]
    done = _run(*args, "--apply", env=_env(sqlite_settings))
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    target = json.loads(line)
    assert list(target) == list(TargetOut.model_fields)  # the API's names: policy, at_risk, ...
    assert (target["target"], target["policy"], target["state"]) == ("first_response", "standard", "breached")
    moments = [target[name] for name in ("started_at", "due_at", "breached_at")]
    assert all(m.endswith("Z") for m in moments), moments
    assert datetime.fromisoformat(target["due_at"]) == opened.ticket.created_on + timedelta(hours=1)
    assert "recorded at position" in done.stderr
    missing = _run(
        "sla", "recompute", str(opened.ticket_id), "--tenant", "acme", "--policy", "nope", env=_env(sqlite_settings)
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == "ledgerdesk: error: no SLA policy 'nope'"


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_worker_runs_the_background_processes_beside_api_workers(sql_settings: Settings, tmp_path: Path) -> None:
    env = _env(sql_settings)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([*CLI, "worker"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    services = build_services(sql_settings)  # as an API worker: commands only, the worker projects
    try:
        alice = Actor("alice", ActorKind.AGENT)
        opened = [
            services.desk.open_ticket(tenant="acme", title=f"t{n}", requester_id="bob", by=alice, via="api")
            for n in range(5)
        ]
        last = max(r.position or 0 for r in opened)
        assert services.read_models.wait_for(last, 30) >= last, (tmp_path / "worker.log").read_text()
    finally:
        services.close()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        log.close()
    said = (tmp_path / "worker.log").read_text()
    assert "worker running projections, sla-watcher, router, triggers, automations, schedules, webhooks" in said
    assert "worker stopped" in said


def test_a_worker_told_to_run_what_does_not_exist_fails_with_one_line(sqlite_settings: Settings) -> None:
    done = _run("worker", "--only", "projections,routing-to-mars", env=_env(sqlite_settings))
    assert done.returncode == 2
    known = "projections, sla-watcher, router, triggers, automations, schedules, webhooks, notifications, "
    known += "suggestions, suggestion-training"
    assert done.stderr.strip() == f"ledgerdesk: error: --only takes some of {known} (got 'projections,routing-to-mars')"
