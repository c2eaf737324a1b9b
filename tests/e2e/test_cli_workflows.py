"""`ledgerdesk workflows` as an operator runs it: publish from a file, list, show, migrate with a mapping."""

from __future__ import annotations

import json
from pathlib import Path

from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.processes import cli_env, run_cli
from tests.unit.test_workflows import REPAIR

AGENT = Actor("alice", ActorKind.AGENT, role="agent")


def test_an_operator_publishes_lists_shows_and_migrates(sql_settings: Settings, tmp_path: Path) -> None:
    env = cli_env(sql_settings)
    definition = tmp_path / "repair.json"
    definition.write_text(json.dumps(REPAIR), encoding="utf-8")
    published = run_cli("workflows", "publish", "repair", str(definition), "--tenant", "acme", env=env)
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == "workflow repair published version 1"
    again = run_cli("workflows", "publish", "repair", str(definition), "--tenant", "acme", env=env)
    assert again.stdout.strip() == "workflow repair unchanged: version 1"

    services = build_services(sql_settings)
    try:
        ticket = services.desk.open_ticket(
            tenant="acme", title="Pump", requester_id="bob", ticket_type="repair", by=AGENT, via="api"
        ).ticket
        services.desk.transition(ticket.id, "in_repair", by=AGENT, via="api")
    finally:
        services.close()
    newer = {**REPAIR, "states": [*REPAIR["states"][:1], {"name": "fixing", "category": "open"}, *REPAIR["states"][2:]]}
    newer["transitions"] = [t for t in REPAIR["transitions"] if "in_repair" not in (t["from"], t["to"])]
    definition.write_text(json.dumps(newer), encoding="utf-8")
    assert run_cli("workflows", "publish", "repair", str(definition), "--tenant", "acme", env=env).returncode == 0

    listed = run_cli("workflows", "list", "--tenant", "acme", env=env)
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [["default", "1"], ["repair", "2"]]
    shown = json.loads(run_cli("workflows", "show", "repair", "--tenant", "acme", "--version", "1", env=env).stdout)
    assert shown["initial"] == "reported"

    move = ("workflows", "migrate", "repair", "--tenant", "acme", "--from-version", "1", "--ticket", str(ticket.id))
    incomplete = run_cli(*move, env=env)
    assert incomplete.returncode == 2
    assert incomplete.stderr.startswith("ledgerdesk: error: the mapping is incomplete")
    done = run_cli(*move, "--map", "in_repair=fixing", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 ticket moved to repair version 2"
    assert run_cli(*move, "--map", "in=", env=env).stderr.startswith("ledgerdesk: error: --map takes OLD=NEW")

    services = build_services(sql_settings)
    try:
        moved = services.desk.get_ticket(ticket.id)
        assert (moved.workflow_version, moved.status) == (2, "fixing")
    finally:
        services.close()


def test_a_definition_that_cannot_be_read_fails_with_one_line(sql_settings: Settings, tmp_path: Path) -> None:
    env = cli_env(sql_settings)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**REPAIR, "initial": 7}), encoding="utf-8")
    done = run_cli("workflows", "publish", "repair", str(broken), "--tenant", "acme", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("ledgerdesk: error: initial:")
    missing = run_cli("workflows", "publish", "repair", str(tmp_path / "nope.json"), "--tenant", "acme", env=env)
    assert missing.stderr.startswith("ledgerdesk: error: cannot read")
