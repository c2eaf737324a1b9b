"""The admins' configuration pages over plain HTTP: what each saves, what each refuses and why, who may use them.

Every page is the admins' alone: each other role gets 403 (and no link to it), a visitor not signed in is
sent to sign in, and an admin of another tenant sees nothing of this one. Each change a page makes is an
event, and shows in the privileged-actions audit report.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.receiver import Receiver

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}

#: Every page of the configuration, as a GET, and every form it posts (path, a form that would change something).
PAGES = (
    "/admin/workflows",
    "/admin/workflows/default",
    "/admin/workflows/rows/state",
    "/admin/sla",
    "/admin/sla/calendars/office",
    "/admin/sla/policies/standard",
    "/admin/sla/rows/interval",
    "/admin/webhooks",
    "/admin/mailboxes",
    "/admin/schedules",
    "/admin/schedules/weekly",
    "/admin/rules",
    "/admin/rules/triggers/urgent",
    "/admin/rules/macros/thanks",
)
FORMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/admin/workflows/support", {"state_name": "new", "state_category": "new", "initial": "new"}),
    ("/admin/sla/calendars/office", {"timezone": "UTC", "interval_start": "00:00", "interval_end": "24:00"}),
    ("/admin/sla/policies/standard", {"position": "1", "first_response": "60"}),
    ("/admin/webhooks", {"url": "https://hooks.example.com/in", "event_types": "*"}),
    ("/admin/mailboxes", {"address": "help@acme.example"}),
    ("/admin/mailboxes/removal", {"address": "help@acme.example"}),
    (
        "/admin/schedules/weekly",
        {"title": "Weekly", "cron": "0 8 * * 1", "timezone": "UTC", "start": "2026-01-01T00:00"},
    ),
)
#: Every Monday at 08:00 in Berlin: a ticket for the facilities team.
WEEKLY: dict[str, Any] = {
    "title": "Weekly inspection",
    "enabled": "on",
    "rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0",
    "timezone": "Europe/Berlin",
    "start": "2026-01-01T00:00",
    "catch_up": "latest",
    "t_title": "Server-room inspection",
    "t_requester_id": "facilities",
    "t_priority": "normal",
    "t_group": "it",
    "t_tags": "inspection, weekly",
}
#: A business calendar of Monday to Friday, 09:00 to 17:00 in Berlin, with Christmas off every year.
OFFICE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "interval_weekday": ["0", "1", "2", "3", "4", "0"],
    "interval_start": ["09:00"] * 5 + [""],
    "interval_end": ["17:00"] * 5 + [""],
    "holiday_day": ["2026-12-25", ""],
    "holiday_yearly": ["yes", "no"],
    "holiday_name": ["Christmas", ""],
}
STANDARD: dict[str, Any] = {
    "position": "1",
    "calendar": "office",
    "first_response": "60",
    "resolution": "480",
    "warning_minutes": "15",
    "pause_statuses": "pending",
}

#: The standard workflow with one more state, "waiting_for_parts", reached from open.
EDITED: dict[str, Any] = {
    "state_name": ["new", "open", "waiting_for_parts", "solved", "closed", ""],
    "state_category": ["new", "open", "on_hold", "solved", "closed", "new"],
    "state_required": ["", "", "part_number", "", "", ""],
    "move_from": ["new", "open", "waiting_for_parts", "open", "solved", ""],
    "move_to": ["open", "waiting_for_parts", "open", "solved", "closed", ""],
    "move_roles": ["", "agent, supervisor", "", "", "", ""],
    "move_requires": ["", "", "", "", "", ""],
    "initial": "new",
    "ticket_types": "hardware",
}


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'desk.sqlite'}", blob_dir=str(tmp_path), projections_in_process=True
    )
    built = build_services(settings)
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Services]:
    """A desk whose webhooks go out at once, to loopback receivers (allowed here, never by default)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'desk.sqlite'}",
        blob_dir=str(tmp_path),
        projections_in_process=True,
        webhook_allowlist="127.0.0.0/8",
        webhook_poll_seconds=0.05,
        webhook_retry_base_seconds=0.2,
        webhook_retry_max_seconds=1.0,
    )
    built = build_services(settings)
    built.start_projections()
    built.start_webhooks()
    yield built
    built.close()


def _until(done: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def _signed_in(services: Services, role: Role, tenant: str = "acme") -> Iterator[TestClient]:
    email, password = f"{role.value}@{tenant}.example", secrets.token_urlsafe(18)
    services.create_user(
        email=email,
        password=password,
        actor_id=f"{role.value}-{tenant}",
        role=role,
        tenant=tenant,
        by=OPERATOR,
        via="cli",
    )
    with TestClient(create_app(services=services)) as client:
        token = _token(client.get("/login", headers=HTML).text)
        fields = {"email": email, "password": password, "csrf_token": token}
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
        yield client


@pytest.fixture
def admin(services: Services) -> Iterator[TestClient]:
    yield from _signed_in(services, Role.ADMIN)


def _privileged(services: Services, client: TestClient) -> list[dict[str, Any]]:
    """The privileged-actions report of acme today, as an auditor reads it from the API, without the creation of
    the web user each test signs in as (itself a privileged action, but not one of the pages')."""
    services.read_models.wait_for(services.desk.recorder.max_notification_id() or 0, 20)
    auditor = services.keys.create(actor_id="auditor", role=Role.AUDITOR, tenant="acme")
    today = datetime.now(UTC).date().isoformat()
    answer = client.get(
        "/audit/reports/privileged",
        params={"from": today, "to": today},
        headers={"Authorization": f"Bearer {auditor.secret}"},
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return [item for item in items if item["event_type"] != "UserCreated"]


def test_an_admin_adds_a_state_and_sees_the_new_version(admin: TestClient, services: Services) -> None:
    page = admin.get("/admin/workflows", headers=HTML)
    assert page.status_code == 200
    assert 'href="/admin/workflows/default"' in page.text
    editor = admin.get("/admin/workflows/default", headers=HTML)
    assert 'value="solved"' in editor.text
    saved = admin.post(
        "/admin/workflows/default", data={**EDITED, "csrf_token": _token(editor.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/workflows/default?saved=2"
    shown = admin.get(saved.headers["location"], headers=HTML)
    assert "Saved as version 2." in shown.text
    assert 'value="waiting_for_parts"' in shown.text
    latest = services.desk.workflow("acme", "default")
    assert latest.version == 2
    assert latest.lifecycle.category_of("waiting_for_parts").value == "on_hold"
    again = admin.post("/admin/workflows/default", data={**EDITED, "csrf_token": _token(shown.text)})
    assert "Nothing changed: version 2 stays the latest." in again.text
    rows = _privileged(services, admin)
    assert [(r["event_type"], r["actor_id"], r["changes"]) for r in rows] == [("WorkflowPublished", "admin-acme", 1)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"move_from": ["closed", "open"], "move_to": ["open", "closed"]}, "states of category closed are final"),
        ({"move_to": ["open", "nowhere", "open", "solved", "closed", ""]}, "names 'nowhere', not a state"),
        ({"initial": "solved"}, "the initial state must be of category new, open, pending or on_hold"),
        ({"move_roles": ["", "wizard", "", "", "", ""]}, "transition 2 roles 1"),
    ],
)
def test_an_invalid_graph_is_refused_with_the_reason_and_kept_as_typed(
    admin: TestClient, services: Services, change: dict[str, Any], reason: str
) -> None:
    editor = admin.get("/admin/workflows/default", headers=HTML)
    form = {**EDITED, **change}
    if "move_from" in change:
        form = {**form, "move_roles": ["", ""], "move_requires": ["", ""]}
    refused = admin.post("/admin/workflows/default", data={**form, "csrf_token": _token(editor.text)})
    assert refused.status_code == 422
    assert "The workflow was not saved:" in refused.text
    assert reason in refused.text.replace("&#39;", "'")
    assert 'value="waiting_for_parts"' in refused.text  # the form as it was typed
    assert services.desk.workflow("acme", "default").version == 1


def test_a_new_workflow_starts_empty_and_a_name_that_is_no_slug_is_refused(admin: TestClient) -> None:
    assert admin.get("/admin/workflows/new", params={"name": "Hard Ware"}, headers=HTML).status_code == 422
    started = admin.get("/admin/workflows/new", params={"name": "hardware"}, follow_redirects=False)
    assert started.headers["location"] == "/admin/workflows/hardware"
    editor = admin.get("/admin/workflows/hardware", headers=HTML)
    assert "Not published yet" in editor.text
    assert admin.get("/admin/workflows/Hard%20Ware", headers=HTML).status_code == 404


def test_an_admin_sets_service_levels_and_previews_the_due_times(admin: TestClient, services: Services) -> None:
    page = admin.get("/admin/sla", headers=HTML)
    assert "No calendar yet" in page.text
    form = admin.get("/admin/sla/calendars/office", headers=HTML)
    assert form.text.count('value="09:00"') == 5  # a new calendar starts as office hours, Monday to Friday
    saved = admin.post(
        "/admin/sla/calendars/office", data={**OFFICE, "csrf_token": _token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert "office was saved as version 1." in admin.get(saved.headers["location"], headers=HTML).text
    calendar = services.desk.work_calendar("acme", "office").definition
    assert calendar["timezone"] == "Europe/Berlin"
    assert calendar["holidays"] == [{"day": "2026-12-25", "yearly": True, "name": "Christmas"}]
    form = admin.get("/admin/sla/policies/standard", headers=HTML)
    assert '<option value="office"' in form.text
    assert 'name="update" inputmode="numeric" maxlength="9" value=""' in form.text  # a new policy's targets are empty
    saved = admin.post(
        "/admin/sla/policies/standard", data={**STANDARD, "csrf_token": _token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert services.desk.sla_policy("acme", "standard").terms["targets"] == {"first_response": 60, "resolution": 480}

    # Friday 4 December 2026, 16:30 UTC is 17:30 in Berlin, after hours: both clocks start on Monday at 09:00.
    preview = admin.get("/admin/sla", params={"start": "2026-12-04T16:30", "priority": "high"}, headers=HTML)
    assert "Policy standard (version 1) applies, counting in office." in preview.text
    key = services.keys.create(actor_id="reader", role=Role.AGENT, tenant="acme")
    for minutes in (60, 480):  # the same moments the API's calculator gives
        due = admin.get(
            "/sla/calendars/office/due",
            params={"start": "2026-12-04T16:30:00Z", "minutes": minutes},
            headers={"Authorization": f"Bearer {key.secret}"},
        ).json()["due"]
        moment = datetime.fromisoformat(due).astimezone(UTC).isoformat()
        assert f'datetime="{moment}"' in preview.text, moment
    assert 'datetime="2026-12-07T09:00:00+00:00"' in preview.text  # Monday 10:00 in Berlin
    rows = _privileged(services, admin)
    assert {r["event_type"] for r in rows} == {"CalendarDefined", "PolicyDefined"}


@pytest.mark.parametrize(
    ("path", "form", "reason"),
    [
        ("/admin/sla/calendars/office", {**OFFICE, "timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ("/admin/sla/calendars/office", {**OFFICE, "interval_end": ["08:00"] * 5 + [""]}, "at least"),
        ("/admin/sla/calendars/office", {**OFFICE, "interval_start": ["9 am"] * 5 + [""]}, "working hours 1 start"),
        ("/admin/sla/policies/standard", {**STANDARD, "calendar": "nowhere"}, "nowhere"),
        ("/admin/sla/policies/standard", {**STANDARD, "first_response": "soon"}, "targets first response"),
    ],
)
def test_a_refused_service_level_says_why_and_keeps_the_form(
    admin: TestClient, services: Services, path: str, form: dict[str, Any], reason: str
) -> None:
    page = admin.get(path, headers=HTML)
    refused = admin.post(path, data={**form, "csrf_token": _token(page.text)})
    assert refused.status_code == 422
    assert "was not saved:" in refused.text
    assert reason in refused.text
    assert any(f'value="{v}"' in refused.text for v in ("Mars/Olympus", "Europe/Berlin", "soon", "1"))
    assert services.read_models.sla().calendars("acme") == []
    assert services.read_models.sla().policies("acme") == []


def test_an_admin_adds_a_webhook_sees_its_deliveries_redelivers_one_and_disables_it(hooked: Services) -> None:
    receiver = Receiver().start()
    try:
        for admin in _signed_in(hooked, Role.ADMIN):
            page = admin.get("/admin/webhooks", headers=HTML)
            assert "No endpoint yet." in page.text
            form = {"url": receiver.url, "description": "CRM", "event_types": "Ticket.Opened"}
            added = admin.post("/admin/webhooks", data={**form, "csrf_token": _token(page.text)})
            assert added.status_code == 200, added.text
            secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', added.text)
            assert secret is not None
            receiver.secrets.append(secret.group(1))
            endpoint = hooked.desk.webhooks("acme")[0]
            shown = admin.get(f"/admin/webhooks/{endpoint.id}", headers=HTML)
            assert secret.group(1) not in shown.text  # shown once, never again

            agent = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
            hooked.desk.open_ticket(title="Printer", requester_id="bob", by=agent, via="web", tenant="acme")
            _until(lambda: len(receiver.received) == 1)
            page_of = f"/admin/webhooks/{endpoint.id}"
            _until(lambda client=admin, path=page_of: "delivered" in client.get(path, headers=HTML).text)
            log = admin.get(f"/admin/webhooks/{endpoint.id}", headers=HTML).text
            delivery = re.search(r'action="(/admin/webhooks/[^"]+/deliveries/(msg_[0-9a-f]+)/redeliver)"', log)
            assert delivery is not None
            assert '<td data-label="Response" class="wrap-anywhere">204' in log
            again = admin.post(delivery.group(1), data={"csrf_token": _token(log)}, follow_redirects=False)
            assert again.status_code == 303
            _until(lambda: len(receiver.received) == 2)
            assert receiver.received[1].id == receiver.received[0].id == delivery.group(2)

            off = admin.post(
                f"/admin/webhooks/{endpoint.id}/enabled", data={"enabled": "false", "csrf_token": _token(log)}
            )
            assert "The endpoint is disabled" in off.text
            refused = admin.post(delivery.group(1), data={"csrf_token": _token(log)})
            assert refused.status_code == 409
            assert "enable it first" in refused.text

            bad = admin.post("/admin/webhooks", data={**form, "url": "ftp://x.example", "csrf_token": _token(log)})
            assert bad.status_code == 422
            assert "The endpoint was not added:" in bad.text
            assert 'value="ftp://x.example"' in bad.text
            assert len(hooked.desk.webhooks("acme")) == 1
            rows = _privileged(hooked, admin)
            assert {r["event_type"] for r in rows} == {"EndpointRegistered", "EndpointDisabled"}
    finally:
        receiver.stop()


def test_an_admin_configures_a_mailbox_changes_it_and_removes_it(admin: TestClient, services: Services) -> None:
    page = admin.get("/admin/mailboxes", headers=HTML)
    assert "No mailbox yet" in page.text
    form = {"address": "help@acme.example", "group": "it", "language": "en", "admit_unknown_senders": "on"}
    saved = admin.post("/admin/mailboxes", data={**form, "csrf_token": _token(page.text)}, follow_redirects=False)
    assert saved.status_code == 303
    listed = admin.get(saved.headers["location"], headers=HTML)
    assert "help@acme.example is configured." in listed.text
    assert "become customers" in listed.text
    changed = admin.post("/admin/mailboxes", data={**form, "group": "sales", "csrf_token": _token(listed.text)})
    assert changed.status_code == 200
    [mailbox] = services.desk.mailboxes("acme")
    assert (mailbox.group, mailbox.admit_unknown_senders) == ("sales", True)
    bad = admin.post("/admin/mailboxes", data={**form, "address": "not an address", "csrf_token": _token(page.text)})
    assert bad.status_code == 422
    assert "The mailbox was not saved:" in bad.text
    assert 'value="not an address"' in bad.text
    for other in _signed_in(services, Role.ADMIN, tenant="globex"):
        home = other.get("/admin/mailboxes", headers=HTML)
        assert "help@acme.example" not in home.text
        taken = other.post("/admin/mailboxes", data={**form, "csrf_token": _token(home.text)})
        assert taken.status_code == 422  # another tenant's address: the domain says so
        assert "The mailbox was not saved:" in taken.text
    removed = admin.post(
        "/admin/mailboxes/removal", data={"address": "help@acme.example", "csrf_token": _token(page.text)}
    )
    assert "No mailbox yet" in removed.text
    rows = _privileged(services, admin)
    assert {(r["event_type"], r["changes"]) for r in rows} == {("Mailbox.Configured", 2), ("Mailbox.Removed", 1)}


def test_an_admin_defines_a_schedule_and_sees_its_next_occurrences(admin: TestClient, services: Services) -> None:
    page = admin.get("/admin/schedules", headers=HTML)
    assert "No schedule yet." in page.text
    form = admin.get("/admin/schedules/weekly", headers=HTML)
    saved = admin.post(
        "/admin/schedules/weekly", data={**WEEKLY, "csrf_token": _token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    shown = admin.get(saved.headers["location"], headers=HTML)
    assert "Saved as version 1." in shown.text
    key = services.keys.create(actor_id="reader", role=Role.AGENT, tenant="acme")
    preview = admin.get(
        "/schedules/weekly/preview", params={"count": 5}, headers={"Authorization": f"Bearer {key.secret}"}
    )
    listed = re.search(r'<ol id="next-occurrences">(.*?)</ol>', shown.text, re.S)
    assert listed is not None
    moments = re.findall(r'datetime="([^"]+)"', listed.group(1))
    assert moments == [datetime.fromisoformat(m).isoformat() for m in preview.json()["occurrences"]]
    assert all(datetime.fromisoformat(m).weekday() == 0 for m in moments)  # Mondays
    schedule = services.desk.schedule("acme", "weekly")
    assert schedule.template.tags == ("inspection", "weekly")
    assert "weekly</a>: Weekly inspection" in admin.get("/admin/schedules", headers=HTML).text
    refused = admin.post(
        "/admin/schedules/weekly", data={**WEEKLY, "rrule": "FREQ=SOMETIMES", "csrf_token": _token(form.text)}
    )
    assert refused.status_code == 422
    assert "The schedule was not saved:" in refused.text
    assert 'value="FREQ=SOMETIMES"' in refused.text
    assert services.desk.schedule("acme", "weekly").version == 1
    rows = _privileged(services, admin)
    assert [(r["event_type"], r["changes"]) for r in rows] == [("ScheduleDefined", 1)]


def test_an_admin_defines_a_trigger_and_a_macro_and_bad_json_is_refused_where_it_is(
    admin: TestClient, services: Services
) -> None:
    page = admin.get("/admin/rules", headers=HTML)
    assert page.text.count("None yet.") == 3
    form = admin.get("/admin/rules/triggers/urgent", headers=HTML)
    trigger = {
        "title": "Urgent to tier 2",
        "position": "1",
        "enabled": "on",
        "on": "created, updated",
        "conditions": '{"all": [{"field": "priority", "op": "equals", "value": "urgent"}]}',
        "actions": '[{"set_group": "tier-2"}, {"add_tags": ["vip"]}]',
    }
    saved = admin.post(
        "/admin/rules/triggers/urgent", data={**trigger, "csrf_token": _token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    shown = admin.get(saved.headers["location"], headers=HTML)
    assert "Saved." in shown.text
    assert "tier-2" in shown.text
    defined = services.desk.trigger("acme", "urgent")
    assert (defined.title, defined.position, list(defined.on)) == ("Urgent to tier 2", 1, ["created", "updated"])
    macro = {"title": "Thanks", "actions": '[{"add_note": "Thank you!"}]'}
    assert admin.post("/admin/rules/macros/thanks", data={**macro, "csrf_token": _token(form.text)}).status_code == 200
    assert services.desk.macro("acme", "thanks").title == "Thanks"

    broken = admin.post(
        "/admin/rules/triggers/urgent",
        data={**trigger, "conditions": '{"all": [}', "csrf_token": _token(form.text)},
    )
    assert broken.status_code == 422
    assert "conditions: not JSON (line 1, column 10" in broken.text
    assert "{&#34;all&#34;: [}" in broken.text  # kept as typed
    unknown = admin.post(
        "/admin/rules/triggers/urgent", data={**trigger, "on": "sometimes", "csrf_token": _token(form.text)}
    )
    assert unknown.status_code == 422
    assert "The rule was not saved: on 1:" in unknown.text
    assert services.desk.trigger("acme", "urgent").version == 1
    listed = admin.get("/admin/rules", headers=HTML).text
    assert 'href="/admin/rules/triggers/urgent"' in listed
    assert 'href="/admin/rules/macros/thanks"' in listed
    rows = _privileged(services, admin)
    assert {r["event_type"] for r in rows} == {"TriggerDefined", "MacroDefined"}


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_no_other_role_gets_a_page_or_a_form_through(services: Services, role: Role) -> None:
    for client in _signed_in(services, role):
        home = client.get("/", headers=HTML)
        for path in PAGES:
            assert client.get(path, headers=HTML).status_code == 403, path
            assert f'href="{path}"' not in home.text
        for path, form in FORMS:
            assert client.post(path, data={**form, "csrf_token": _token(home.text)}).status_code == 403, path
    assert services.desk.workflow("acme", "default").version == 1
    assert services.desk.workflows("acme")[1:] == []
    assert services.desk.webhooks("acme") == []
    assert services.desk.mailboxes("acme") == []
    assert services.desk.schedule_book("acme") is None
    assert services.desk.rule_book("acme") is None


def test_a_visitor_not_signed_in_is_sent_to_sign_in_and_a_form_without_token_is_refused(
    services: Services, admin: TestClient
) -> None:
    with TestClient(create_app(services=services)) as stranger:
        for path in PAGES:
            sent = stranger.get(path, headers=HTML, follow_redirects=False)
            assert sent.status_code == 303, path
            assert sent.headers["location"].startswith("/login?next=")
    for path, form in FORMS:
        assert admin.post(path, data=form).status_code == 403, path


def test_an_admin_of_another_tenant_sees_and_changes_only_their_own(services: Services, admin: TestClient) -> None:
    editor = admin.get("/admin/workflows/default", headers=HTML)
    admin.post("/admin/workflows/acme_only", data={**EDITED, "csrf_token": _token(editor.text)})
    admin.post("/admin/sla/calendars/office", data={**OFFICE, "csrf_token": _token(editor.text)})
    hook = {"url": "https://crm.acme.example/in", "event_types": "*", "csrf_token": _token(editor.text)}
    admin.post("/admin/webhooks", data=hook)
    [endpoint] = services.desk.webhooks("acme")
    for other in _signed_in(services, Role.ADMIN, tenant="globex"):
        assert "acme_only" not in other.get("/admin/workflows", headers=HTML).text
        assert "Not published yet" in other.get("/admin/workflows/acme_only", headers=HTML).text
        assert "office" not in other.get("/admin/sla", headers=HTML).text
        assert "crm.acme.example" not in other.get("/admin/webhooks", headers=HTML).text
        assert other.get(f"/admin/webhooks/{endpoint.id}", headers=HTML).status_code == 404
        page = other.get("/admin/workflows/default", headers=HTML)
        form = {**EDITED, "csrf_token": _token(page.text)}
        assert other.post("/admin/workflows/default", data=form, follow_redirects=False).status_code == 303
    assert services.desk.workflow("acme", "default").version == 1  # globex's save made globex's version 2
    assert services.desk.workflow("globex", "default").version == 2


def test_the_pages_speak_chinese(admin: TestClient) -> None:
    admin.get("/language?lang=zh_CN&next=/admin/workflows")
    for path in PAGES[:2]:
        page = admin.get(path, headers=HTML)
        assert page.status_code == 200
        assert "工作流" in page.text, path
