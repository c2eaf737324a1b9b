"""The browser tier: the real app served by uvicorn on a loopback port, driven by Debian's chromium.

Playwright cannot download its own browsers here, so the tests launch /usr/bin/chromium. Without
it they skip with the reason, unless LEDGERDESK_REQUIRE_BROWSER is set (CI), and then they fail.
The site runs against SQLite and PostgreSQL with its projections in process, seeded with users
and tickets made through the same services the CLI and the API use.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from playwright.sync_api import Page
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.conftest import SQL_BACKENDS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "ui"
OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's chromium; skip (or, with LEDGERDESK_REQUIRE_BROWSER, fail) without it."""
    if not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("LEDGERDESK_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}, and LEDGERDESK_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who signs in: their address and the password generated for this run."""

    email: str
    password: str


@dataclass(slots=True)
class Site:
    """A running site: its address, its services, who may sign in, and the seeded tickets by name."""

    url: str
    services: Services
    people: dict[str, Person] = field(default_factory=dict)
    tickets: dict[str, uuid.UUID] = field(default_factory=dict)


@contextmanager
def serve(services: Services) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yields its address, stops it afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(services=services), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "the site stopped while starting"
        assert time.monotonic() < deadline, "the site did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


def password() -> str:
    """A password made for one run (never a fixed one in the repository)."""
    return secrets.token_urlsafe(18)


def seed(services: Services) -> tuple[dict[str, Person], dict[str, uuid.UUID]]:
    """An agent of group support, two customers, and tickets of both groups, one with an internal note."""
    people = {
        "agent": Person("ann@acme.example", password()),
        "customer": Person("cathy@acme.example", password()),
        "other": Person("dan@acme.example", password()),
    }
    services.create_user(
        email=people["agent"].email,
        password=people["agent"].password,
        actor_id="ann",
        role=Role.AGENT,
        tenant="acme",
        groups=["support"],
        time_zone="Asia/Shanghai",
        by=OPERATOR,
        via="cli",
    )
    for name, actor in (("customer", "cathy"), ("other", "dan")):
        services.create_user(
            email=people[name].email,
            password=people[name].password,
            actor_id=actor,
            role=Role.CUSTOMER,
            tenant="acme",
            by=OPERATOR,
            via="cli",
        )
    desk, ann = services.desk, Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
    how: dict[str, Any] = {"by": ann, "via": "web", "tenant": "acme"}

    def opened(title: str, requester: str, group: str) -> uuid.UUID:
        about = f"About: {title}"
        return desk.open_ticket(title=title, description=about, requester_id=requester, group=group, **how).ticket_id

    tickets = {
        "assigned": opened("Printer on fire", "cathy", "support"),
        "script": opened("<script>alert(1)</script> in my title", "cathy", "support"),
        "dans": opened("Dan cannot log in", "dan", "support"),
        "billing": opened("Invoice is wrong", "dan", "billing"),
    }
    desk.assign(tickets["assigned"], assignee="ann", **how)
    desk.add_comment(tickets["assigned"], "We are sending a technician.", public=True, **how)
    last = desk.add_comment(tickets["assigned"], "Secret: the printer is older than the office.", public=False, **how)
    wait_for_projections(services, last.position or 0)
    return people, tickets


def wait_for_projections(services: Services, position: int) -> None:
    """Wait until the read models have applied `position` (the projections run in this process)."""
    deadline = time.monotonic() + 20
    while services.read_models.position() < position:
        assert time.monotonic() < deadline, "the read models did not catch up"
        time.sleep(0.05)


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def site_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a new, empty store of each SQL backend, with projections in process."""
    folder = tmp_path_factory.mktemp("site")
    common: dict[str, Any] = {"projections_in_process": True, "blob_dir": str(folder / "blobs")}
    common["sign_in_failure_limit"] = "1000/minute"  # the limit has its own test and site
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{folder / 'ledgerdesk.sqlite'}", **common)
        return
    database: str = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield Settings(database_url=database, postgres_schema=schema, db_pool_max=17, pool_size=4, **common)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def running(settings: Settings) -> Iterator[Site]:
    """Build the services, seed them, and serve them until the caller is done."""
    services = build_services(settings)
    try:
        services.start_projections()
        people, tickets = seed(services)
        with serve(services) as url:
            yield Site(url, services, people, tickets)
    finally:
        services.close()


@pytest.fixture(scope="module")
def site(site_settings: Settings) -> Iterator[Site]:
    """The seeded site of a module, on each SQL backend."""
    yield from running(site_settings)


def sign_in(page: Page, site: Site, who: str, *, path: str = "/login") -> None:
    """Sign in through the form, as a person would."""
    person = site.people[who]
    page.goto(site.url + path)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now.

    axe-core is evaluated through the DevTools protocol rather than added as a <script>: the pages' CSP
    allows no inline script, and the test must not weaken it to look.
    """
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("async () => await axe.run()")
    bad = [(v["id"], v["impact"], v["help"]) for v in results["violations"] if v["impact"] in {"serious", "critical"}]
    assert not bad, bad


def screenshot(page: Page, name: str) -> None:
    """With LEDGERDESK_SCREENSHOTS set, keep the page as docs/ui/NAME.png (for docs/ui.md)."""
    if os.environ.get("LEDGERDESK_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def add_person(site: Site, name: str, actor_id: str, role: Role, *, groups: list[str] | None = None) -> Person:
    """One more user of the site (an agent of a group, a customer), with a password made for this run."""
    person = Person(f"{actor_id}@acme.example", password())
    site.services.create_user(
        email=person.email,
        password=person.password,
        actor_id=actor_id,
        role=role,
        tenant="acme",
        groups=groups,
        by=OPERATOR,
        via="cli",
    )
    site.people[name] = person
    return person


def open_ticket(site: Site, name: str, title: str, *, requester: str = "cathy", group: str = "support") -> uuid.UUID:
    """A new unassigned ticket of `requester` in `group`, once the read models show it."""
    ann = Actor("ann", ActorKind.AGENT, role=Role.AGENT.value)
    receipt = site.services.desk.open_ticket(
        title=title,
        description=f"About: {title}",
        requester_id=requester,
        group=group,
        by=ann,
        via="web",
        tenant="acme",
    )
    wait_for_projections(site.services, receipt.position or 0)
    site.tickets[name] = receipt.ticket_id
    return receipt.ticket_id
