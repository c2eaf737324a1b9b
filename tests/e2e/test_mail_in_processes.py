"""`ledgerdesk mail-in` as its own process: `--stdin` exit codes as a mail server's pipe reads them, `--listen`
serving SMTP, and a database that fails under a running receiver (451, then stored once it is back)."""

from __future__ import annotations

import os
import smtplib
import subprocess
import time

import psycopg
import pytest
from psycopg import sql

from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.mail import MAILBOX, mail, mail_server, open_mailbox, send
from tests.support.processes import CLI, cli_env, free_port, run_cli


def _pipe(
    settings: Settings, raw: bytes, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, "mail-in", "--stdin", *args],
        input=raw,
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, **cli_env(settings), "LEDGERDESK_CONNECT_TIMEOUT_SECONDS": "1", **(env or {})},
    )


def test_stdin_answers_with_exit_codes(sql_services: Services) -> None:
    open_mailbox(sql_services)
    settings = sql_services.settings
    first = mail()
    stored = _pipe(settings, first.as_bytes(), "--recipient", MAILBOX)
    assert stored.returncode == 0, stored.stderr
    assert b"250 2.0.0" in stored.stderr
    assert sql_services.desk.ticket_of_message("acme", first["Message-ID"]) is not None
    again = _pipe(settings, first.as_bytes())  # the recipient from the To header
    assert again.returncode == 0, again.stderr
    nobody = _pipe(settings, mail().as_bytes(), "--recipient", "nobody@desk.example")
    assert nobody.returncode == 67
    assert nobody.stderr.decode().strip().endswith("550 5.1.1 no such mailbox here")
    unreadable = _pipe(settings, b"Subject: no sender\r\n\r\nHi\r\n", "--recipient", MAILBOX)
    assert unreadable.returncode == 65


def test_stdin_refuses_a_message_over_the_limit_with_65(sql_services: Services) -> None:
    open_mailbox(sql_services)
    big = mail(body="x" * 5000)
    result = _pipe(sql_services.settings, big.as_bytes(), env={"LEDGERDESK_MAIL_MAX_BYTES": "2048"})
    assert result.returncode == 65
    assert b"552 5.3.4" in result.stderr
    assert sql_services.desk.inbound_message("acme", big["Message-ID"]) is None


def test_stdin_refuses_an_unknown_sender_with_77(sql_services: Services) -> None:
    open_mailbox(sql_services, admit=False)
    refused = _pipe(sql_services.settings, mail().as_bytes(), "--recipient", MAILBOX)
    assert refused.returncode == 77
    assert b"5.7.1" in refused.stderr


def test_stdin_with_the_database_away_is_75() -> None:
    away = Settings(database_url=f"postgresql://root@127.0.0.1:{free_port()}/none", connect_timeout_seconds=1)
    result = _pipe(away, mail().as_bytes(), "--recipient", MAILBOX)
    assert result.returncode == 75
    assert b"451 4.3.0" in result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_listen_serves_smtp_as_its_own_process(sql_services: Services) -> None:
    open_mailbox(sql_services)
    port = free_port()
    env = {**os.environ, **cli_env(sql_services.settings)}
    server = subprocess.Popen([*CLI, "mail-in", "--listen", f"127.0.0.1:{port}"], env=env, stderr=subprocess.PIPE)
    try:
        first = mail()
        deadline = time.monotonic() + 30
        while True:
            try:
                send(port, first)
                break
            except OSError:
                assert time.monotonic() < deadline, "mail-in did not listen"
                time.sleep(0.2)
        assert sql_services.desk.ticket_of_message("acme", first["Message-ID"]) is not None
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_cli_needs_one_mode(sql_services: Services) -> None:
    result = run_cli("mail-in", env=cli_env(sql_services.settings))
    assert result.returncode == 2
    assert "--listen" in result.stderr


@pytest.mark.postgres
def test_a_database_that_fails_is_451_and_the_retry_is_stored(postgres_settings: Settings) -> None:
    services = build_services(postgres_settings)
    try:
        open_mailbox(services)
        events = sql.Identifier(postgres_settings.postgres_schema, "helpdesk_events")
        hidden = sql.Identifier(postgres_settings.postgres_schema, "events_hidden")
        first = mail()
        with mail_server(services) as port:
            with psycopg.connect(postgres_settings.database_url, autocommit=True) as admin:
                admin.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(events, sql.Identifier("events_hidden")))
                try:
                    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPRecipientsRefused)) as refused:
                        send(port, first)
                finally:
                    admin.execute(
                        sql.SQL("ALTER TABLE {} RENAME TO {}").format(hidden, sql.Identifier("helpdesk_events"))
                    )
            assert "451" in str(refused.value)
            assert services.desk.inbound_message("acme", first["Message-ID"]) is None
            send(port, first)
        assert services.desk.ticket_of_message("acme", first["Message-ID"]) is not None
    finally:
        services.close()
