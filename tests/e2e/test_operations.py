"""What operators see: `GET /metrics` read with prometheus-client's own parser, `GET /readyz`, JSON logs.

In process on SQLite and PostgreSQL for the figures, and as real `ledgerdesk serve --workers 2`
processes for the two things only processes show: several workers reporting as one, and the
JSON request lines they write.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.keys import key
from tests.support.processes import CLI, cli_env, free_port, wait_healthy

REQUESTS = 30


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of the exposition by sample name, parsed as Prometheus parses it."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(services=served)) as client:
        yield client, key(served, "alice", Role.AGENT)


def test_metrics_count_requests_by_route_template_and_commands_by_outcome(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, alice = api
    opened = client.post("/tickets", json={"title": "Printer on fire", "requester_id": "bob"}, headers=alice)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()["id"]
    for _ in range(3):
        assert client.get(f"/tickets/{ticket}", headers=alice).status_code == 200
    refused = client.post(f"/tickets/{ticket}/transitions", json={"to": "closed"}, headers=alice)
    assert refused.status_code == 409, refused.text
    assert client.get("/no/such/path").status_code == 404
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    samples = _samples(scraped.text)
    route = "/tickets/{ticket_id}"
    assert _value(samples, "ledgerdesk_http_requests_total", method="GET", route=route, status="200") == 3
    assert _value(samples, "ledgerdesk_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert _value(samples, "ledgerdesk_http_request_duration_seconds_bucket", route=route, le="+Inf") == 3
    assert _value(samples, "ledgerdesk_http_requests_total", route="unmatched", status="404") == 1
    assert not any(ticket in labels.get("route", "") for labels, _ in samples["ledgerdesk_http_requests_total"])
    assert _value(samples, "ledgerdesk_commands_total", command="open_ticket", outcome="stored") == 1
    assert _value(samples, "ledgerdesk_commands_total", command="transition", outcome="rejected") == 1
    for gauge in ("ledgerdesk_read_model_lag_events", "ledgerdesk_read_model_lag_seconds", "ledgerdesk_event_log_head"):
        assert gauge in samples
    assert "ledgerdesk_sla_breached_tickets" in samples


def test_metrics_show_each_background_process_and_its_backlog(served: Services) -> None:
    triggers = served.start_triggers()
    with TestClient(create_app(services=served)) as client:
        client.post("/tickets", json={"title": "t", "requester_id": "bob"}, headers=key(served, "alice", Role.AGENT))
        deadline = time.monotonic() + 20
        while True:  # until the trigger runner has held its lease once
            running = _samples(client.get("/metrics").text)
            if _value(running, "ledgerdesk_background_running", process="triggers") == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        triggers.stop()  # a clean stop gives the lease up: nobody runs the triggers now
        stopped = _samples(client.get("/metrics").text)
    assert _value(running, "ledgerdesk_background_running", process="triggers") == 1
    assert _value(running, "ledgerdesk_background_last_run_timestamp_seconds", process="triggers") > time.time() - 60
    head = _value(running, "ledgerdesk_event_log_head")
    position = _value(running, "ledgerdesk_background_position", process="triggers")
    assert _value(running, "ledgerdesk_background_backlog_events", process="triggers") == head - position
    assert _value(stopped, "ledgerdesk_background_running", process="triggers") == 0


def test_readyz_answers_503_while_the_read_models_lag_too_far(sql_settings: Settings) -> None:
    services = build_services(sql_settings.model_copy(update={"ready_lag_events": 0}))
    try:
        with TestClient(create_app(services=services)) as client:
            alice = key(services, "alice", Role.AGENT)
            assert client.get("/readyz").json()["ready"] is True
            client.post("/tickets", json={"title": "t", "requester_id": "bob"}, headers=alice)
            behind = client.get("/readyz")  # nothing projects yet
            assert behind.status_code == 503
            said = behind.json()
            assert (said["ready"], said["database"], said["max_lag_events"]) == (False, True, 0)
            assert said["lag_events"] == said["head"] - said["read_model_position"] > 0
            services.start_projections()
            services.read_models.wait_for(services.read_models.head(), timeout=10)
            caught_up = client.get("/readyz")
            assert caught_up.status_code == 200
            assert caught_up.json()["lag_events"] == 0
    finally:
        services.close()


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_report_as_one_and_log_json_lines_with_their_ids(sql_settings: Settings, tmp_path: Path) -> None:
    services = build_services(sql_settings)
    alice = key(services, "alice", Role.AGENT)
    services.close()
    port, log_path = free_port(), tmp_path / "serve.log"
    env = {**os.environ, **cli_env(sql_settings), "LEDGERDESK_LOG_FORMAT": "json", "LEDGERDESK_RATE_LIMIT": ""}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_path.open("w") as log:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2"], env=env, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, log_path)
            for n in range(REQUESTS):  # a new connection each: both workers take some
                answer = httpx.get(f"{base}/tickets", headers={**alice, "Ledgerdesk-Correlation-Id": f"op-{n}"})
                assert answer.status_code == 200, answer.text
            request_id = answer.headers["ledgerdesk-request-id"]
            counts = {
                _value(
                    _samples(httpx.get(f"{base}/metrics").text),
                    "ledgerdesk_http_requests_total",
                    route="/tickets",
                    status="200",
                )
                for _ in range(6)
            }
        finally:
            server.terminate()  # by its pid: the server this test started
            server.wait(timeout=30)
    assert counts == {REQUESTS}  # whichever worker answered the scrape, it counted both workers' requests
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    served = [line for line in lines if line.get("logger") == "ledgerdesk.requests" and line["route"] == "/tickets"]
    assert len(served) == REQUESTS
    last = next(line for line in served if line["request_id"] == request_id)
    assert (last["correlation_id"], last["status"], last["method"], last["level"]) == (
        f"op-{REQUESTS - 1}",
        200,
        "GET",
        "INFO",
    )
    assert {"time", "message", "ms", "path"} <= last.keys()
