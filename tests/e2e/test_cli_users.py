"""`ledgerdesk users create`, run as an operator runs it: the password on standard input, never in an event."""

from __future__ import annotations

import os
import secrets
import subprocess

from domain.keys.user_account import UserAccount
from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.processes import CLI
from tests.support.processes import cli_env as _env
from tests.support.processes import run_cli as _run


def _create(settings: Settings, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "users", "create", *args, "--password-stdin"],
        check=False,
        input=password + "\n",
        env={**os.environ, **_env(settings)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_user_is_created_signs_in_and_is_on_record_without_the_password(sql_settings: Settings) -> None:
    password = secrets.token_urlsafe(18)
    args = ("Ann@Acme.example", "--role", "agent", "--tenant", "acme", "--group", "support", "--group", "vip")
    done = _create(sql_settings, password, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("user ")
    assert "ann@acme.example" in done.stdout
    assert password not in done.stdout + done.stderr
    services = build_services(sql_settings)
    try:
        user = services.users.check_password("ann@acme.example", password)
        assert user is not None
        assert user.principal.actor.groups == frozenset({"support", "vip"})
        assert services.users.check_password("ann@acme.example", password + "x") is None
        events = list(services.desk.events.get(UserAccount.create_id(user.user_id)))
        assert [type(e).__name__ for e in events] == ["UserCreated"]
        recorded = str(vars(events[0]))
        assert password not in recorded
        assert "argon2" not in recorded
    finally:
        services.close()


def test_users_create_refuses_with_one_line(sqlite_settings: Settings) -> None:
    password = secrets.token_urlsafe(18)
    cases = [
        (("a@acme.example", "--role", "agent", "--tenant", "acme"), "short", "at least 12 characters"),
        (("not-an-address", "--role", "agent", "--tenant", "acme"), password, "an e-mail address"),
        (("a@acme.example", "--role", "agent", "--tenant", "acme", "--organisation", "o"), password, "customers"),
        (("a@acme.example", "--role", "customer", "--tenant", "acme", "--group", "g"), password, "agents and"),
        (("a@acme.example", "--role", "agent", "--tenant", "acme", "--time-zone", "Mars/Base"), password, "time zone"),
    ]
    for args, given, message in cases:
        done = _create(sqlite_settings, given, *args)
        assert done.returncode == 2, (args, done.stdout)
        assert done.stderr.startswith("ledgerdesk: error: "), done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
        assert message in done.stderr, done.stderr
    assert _create(sqlite_settings, password, "b@acme.example", "--role", "agent", "--tenant", "acme").returncode == 0
    again = _create(sqlite_settings, password, "B@acme.example", "--role", "agent", "--tenant", "acme")
    assert again.returncode == 2
    assert "already a user b@acme.example" in again.stderr
    plain = ("users", "create", "c@acme.example", "--role", "agent", "--tenant", "acme")
    without = _run(*plain, env=_env(sqlite_settings))
    assert without.returncode == 2
    assert "--password-stdin" in without.stderr
