"""MI1: e-mail taken in per second by `ledgerdesk mail-in --listen` on PostgreSQL.

Method. On a fresh database, one mailbox of the tenant admits new senders. `ledgerdesk mail-in
--listen 127.0.0.1:<port>` runs as its own process, as a mail server would deliver to it. C
client threads (BENCH_MI1_CLIENTS) each hold one SMTP connection (as a sending MTA reuses one)
and send their share of N messages (BENCH_MI1_MESSAGES) with `smtplib`: each a new request from
one of 200 senders, so each opens a ticket (the sender's first also records them as a customer).
A message's latency is from `DATA` sent to its 250 answer, which comes only once the ticket, the
message's record and the sender are committed. Throughput is the messages answered 250 over the
span from the first sending to the last answer. Afterwards the events are counted: every message
is stored once.
"""

from __future__ import annotations

import smtplib
import subprocess
import threading
import time
from email.message import EmailMessage
from typing import Any

import psycopg

from bench.lag import _cuts
from bench.seed import seeding_settings
from bench.server import CLI, ROOT, _env, free_port, scratch_database, settle, stop
from domain.actors import Actor, ActorKind
from infrastructure.composition import build_services

TENANT = "acme"
MAILBOX = "help@desk.example"
ADMIN = Actor("bench-admin", ActorKind.SYSTEM, role="admin")
SENDERS = 200


def bench_mail_in(conn: psycopg.Connection[Any], user: str, *, messages: int, clients: int) -> dict[str, Any]:
    """MI1: `messages` messages over `clients` SMTP connections."""
    with scratch_database(conn, user) as url:
        services = build_services(seeding_settings(url))
        try:
            services.desk.configure_mailbox(
                tenant=TENANT, address=MAILBOX, group=None, admit_unknown_senders=True, by=ADMIN, via="api"
            )
        finally:
            services.close()
        settle(url)
        port = free_port()
        process = subprocess.Popen(
            [*CLI, "mail-in", "--listen", f"127.0.0.1:{port}"],
            env=_env(url, None),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(port)
            latencies, refused, span = _drive(port, messages=messages, clients=clients)
        finally:
            stop(process)
        with psycopg.connect(url) as check:
            row = check.execute("SELECT count(*) FROM helpdesk_events WHERE topic LIKE %s", ("%InboundMessage%",))
            stored = row.fetchone()
    return {
        "name": f"mi1_mail_in_{clients}_clients",
        "messages": messages,
        "clients": clients,
        "refused": refused,
        "stored": stored[0] if stored else 0,
        "messages_per_s": round(len(latencies) / span, 1),
        **_cuts(latencies, "latency"),
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
    }


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                client.noop()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _message(i: int) -> tuple[str, bytes]:
    sender = f"customer{i % SENDERS}@example.org"
    message = EmailMessage()
    message["From"] = f"Customer {i % SENDERS} <{sender}>"
    message["To"] = MAILBOX
    message["Subject"] = f"Request {i}: the printer on floor {i % 7} jams"
    message["Message-ID"] = f"<mi1.{i}.{time.time_ns()}@example.org>"
    message.set_content(f"Hello,\n\nthe printer jams again (request {i}).\n\nRegards\n")
    return sender, message.as_bytes()


def _drive(port: int, *, messages: int, clients: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    refused = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        mine = [_message(i) for i in range(index, messages, clients)]
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for sender, raw in mine:
                began = time.monotonic()
                try:
                    smtp.sendmail(sender, [MAILBOX], raw)
                except smtplib.SMTPException:
                    with lock:
                        refused[0] += 1
                    continue
                with lock:
                    latencies.append((time.monotonic() - began) * 1000)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, refused[0], time.monotonic() - started
