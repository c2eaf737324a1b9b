"""W1's baseline: the ticket commands as plain SQL updates in place, to measure the write path against.

Mounted under `/bench-baseline/tickets` beside the product's routes on the bench's own app
(bench/w1_baseline/app.py), which W1 serves on its throw-away database; the product's API never
carries it. It is what one would build without event sourcing, doing the same work per command
as `api/routers/tickets.py`:

* the same request and response schemas (`TicketCreate`, `AssignmentRequest`, `TransitionRequest`,
  `CommentCreate`, `TicketPatch` -> `TicketPublic`), the same authentication and the same row of the
  authorization matrix (each route carries the name of its event-sourced twin), `If-Match`;
* the same rules: the domain's value checks, the workflow, "closed is final", requesters' limits,
  a command that changes nothing stores nothing;
* one transaction per command on the service's own connection pool: the ticket row is read
  `FOR UPDATE`, checked, then `UPDATE`d in place (a comment is one more `INSERT`), and the
  ticket with its comments is read back for the response.

It keeps no history, no hash chain and no separate read model: the indexes its lists would
need (the read model's) sit on the table it updates. PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Response, status
from psycopg.types.json import Jsonb

from api.deps import ChannelDep, ExpectedVersionDep, PrincipalDep, ServicesDep, etag
from api.problems import ProblemError
from api.schemas import (
    AssignmentRequest,
    CommentCreate,
    CommentPublic,
    TicketCreate,
    TicketPatch,
    TicketPublic,
    TransitionRequest,
    custom_field,
)
from domain import values
from domain.actors import Actor, ActorKind, channel, identifier
from domain.errors import (
    InvalidValueError,
    NotPermittedError,
    TicketClosedError,
    TicketNotFoundError,
    VersionMismatchError,
)
from domain.tickets.workflow import Status
from domain.tickets.workflow import status as status_of
from domain.values import FieldValue, Priority
from infrastructure.composition import Services
from infrastructure.database import Backend
from infrastructure.keys import Principal

router = APIRouter(prefix="/bench-baseline/tickets", tags=["bench baseline"], include_in_schema=False)

TICKETS = "baseline_tickets"
COMMENTS = "baseline_comments"
TICKET_COLUMNS = (
    "id, tenant, version, title, description, requester_id, requester_name, requester_email, organisation, channel, "
    "status, priority, priority_rank, ticket_type, tags, custom_fields, group_id, assignee, comment_count, "
    "created_at, updated_at"
)
_CREATE_ATTEMPTS = 5

Row = dict[str, Any]
# A command's change to the locked ticket row (row, cursor, the command's moment): the columns to set,
# or None when nothing changes.
Change = Callable[[Row, Any, datetime], dict[str, Any] | None]


def create_statements(schema: str) -> list[str]:
    """DDL of the baseline tables, with the indexes the read model's lists use."""
    t, c = f'"{schema}".{TICKETS}', f'"{schema}".{COMMENTS}'
    return [
        f"CREATE TABLE IF NOT EXISTS {t} (id UUID PRIMARY KEY, tenant TEXT NOT NULL, version INTEGER NOT NULL, "
        "title TEXT NOT NULL, description TEXT NOT NULL, requester_id TEXT NOT NULL, requester_name TEXT, "
        "requester_email TEXT, organisation TEXT, "
        "channel TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL, priority_rank INTEGER NOT NULL, "
        "ticket_type TEXT, tags JSONB NOT NULL, custom_fields JSONB NOT NULL, group_id TEXT, assignee TEXT, "
        "comment_count INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_created ON {t} (tenant, created_at, id)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_status ON {t} (tenant, status, priority_rank, created_at)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_group ON {t} (tenant, group_id, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_assignee ON {t} (tenant, assignee, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_requester ON {t} (tenant, requester_id)",
        f"CREATE INDEX IF NOT EXISTS {TICKETS}_by_tags ON {t} USING GIN (tags jsonb_path_ops)",
        f"CREATE TABLE IF NOT EXISTS {c} (ticket_id UUID NOT NULL REFERENCES {t} (id), number INTEGER NOT NULL, "
        "author_id TEXT NOT NULL, author_kind TEXT NOT NULL, public BOOLEAN NOT NULL, body TEXT NOT NULL, "
        "mentions JSONB NOT NULL, attachments JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (ticket_id, number))",
    ]


class _Store:
    """The baseline tables of one process, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: set[str] = set()

    def datastore(self, services: Services) -> Any:
        """The events' PostgreSQL datastore (its pool), with the baseline tables in place."""
        if services.database.backend is not Backend.POSTGRES:
            raise ProblemError(404, "not-found", "the bench baseline runs on PostgreSQL only")
        datastore = services.desk.recorder.datastore  # type: ignore[attr-defined]  # SQL recorders all have one
        if datastore.schema not in self._ready:
            with self._lock:
                if datastore.schema not in self._ready:
                    create_tables(datastore)
                    self._ready.add(datastore.schema)
        return datastore

    @staticmethod
    def names(datastore: Any) -> tuple[str, str]:
        """The schema-qualified ticket and comment tables."""
        schema = datastore.schema
        return f'"{schema}".{TICKETS}', f'"{schema}".{COMMENTS}'


_store = _Store()


def create_tables(datastore: Any) -> None:
    """Create the baseline tables; API workers starting together may collide, so retry."""
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            with datastore.transaction(commit=True) as cursor:
                for statement in create_statements(datastore.schema):
                    cursor.execute(statement)
        except Exception:
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
            threading.Event().wait(0.1 * (attempt + 1))
        else:
            return


# --- commands ---------------------------------------------------------------------------------------


@router.post("", name="open_ticket", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
def open_ticket(
    body: TicketCreate, services: ServicesDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> TicketPublic:
    """Open a ticket: one INSERT."""
    actor = principal.actor
    requester_id = body.requester_id
    if actor.kind is ActorKind.REQUESTER:
        if requester_id not in (None, actor.id):
            raise NotPermittedError("requesters can only open tickets for themselves")
        requester_id = actor.id
    if requester_id is None:
        raise InvalidValueError("requester_id is required when an agent opens a ticket")
    fields = {name: value.to_domain() for name, value in body.custom_fields.items()}
    if len(fields) > values.CUSTOM_FIELDS_MAX:
        msg = f"a ticket may carry at most {values.CUSTOM_FIELDS_MAX} custom fields"
        raise InvalidValueError(msg)
    priority = values.priority(body.priority.value)
    now = services.desk.clock()
    row = {
        "id": uuid4(),
        "tenant": identifier(principal.tenant, "tenant"),
        "version": 1,
        "title": values.title(body.title),
        "description": values.text(body.description, "description", allow_blank=True),
        "requester_id": identifier(requester_id, "requester id"),
        "requester_name": None if body.requester_name is None else values.person_name(body.requester_name),
        "requester_email": None if body.requester_email is None else values.email(body.requester_email),
        "organisation": None if body.organisation is None else identifier(body.organisation, "organisation"),
        "channel": channel(body.channel or via),
        "status": Status.NEW.value,
        "priority": priority.value,
        "priority_rank": priority.rank,
        "ticket_type": None if body.type is None else values.slug(body.type, "type"),
        "tags": Jsonb(values.tags(body.tags)),
        "custom_fields": Jsonb({values.slug(k, "custom field name"): v.as_dict() for k, v in sorted(fields.items())}),
        "group_id": None,
        "assignee": None,
        "comment_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    datastore = _store.datastore(services)
    tickets, _ = _store.names(datastore)
    columns = ", ".join(row)
    placeholders = ", ".join(f"%({name})s" for name in row)
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(f"INSERT INTO {tickets} ({columns}) VALUES ({placeholders}) RETURNING {TICKET_COLUMNS}", row)
        stored = cursor.fetchone()
    response.headers["Location"] = f"/bench-baseline/tickets/{stored['id']}"
    return _answer(response, stored, [], actor)


@router.post("/{ticket_id}/assignment", name="assign", response_model=TicketPublic)
def assign(
    ticket_id: UUID,
    body: AssignmentRequest,
    services: ServicesDep,
    principal: PrincipalDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> TicketPublic:
    """Assign or reassign: one UPDATE."""

    def change(row: Row, _: Any, __: datetime) -> dict[str, Any] | None:
        if body.assignee is None and body.group is None:
            msg = "assignment needs an assignee, a group, or both"
            raise InvalidValueError(msg)
        group = row["group_id"] if body.group is None else identifier(body.group, "group")
        assignee = None if body.assignee is None else identifier(body.assignee, "assignee")
        if (assignee, group) == (row["assignee"], row["group_id"]):
            return None
        return {"assignee": assignee, "group_id": group}

    return _command(services, principal, ticket_id, expected_version, response, change)


@router.post("/{ticket_id}/transitions", name="transition", response_model=TicketPublic)
def transition(
    ticket_id: UUID,
    body: TransitionRequest,
    services: ServicesDep,
    principal: PrincipalDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> TicketPublic:
    """Move the ticket through the workflow: one UPDATE."""

    def change(row: Row, _: Any, __: datetime) -> dict[str, Any] | None:
        current, target = Status(row["status"]), status_of(body.to)
        if principal.actor.kind is ActorKind.REQUESTER and (current, target) != (Status.SOLVED, Status.OPEN):
            msg = "requesters can only reopen a solved ticket"
            raise NotPermittedError(msg)
        services.desk.standard_moves.check(current, target)
        return {"status": target.value}

    return _command(services, principal, ticket_id, expected_version, response, change)


@router.post(
    "/{ticket_id}/comments", name="add_comment", status_code=status.HTTP_201_CREATED, response_model=TicketPublic
)
def add_comment(
    ticket_id: UUID,
    body: CommentCreate,
    services: ServicesDep,
    principal: PrincipalDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> TicketPublic:
    """Add a public reply or an internal note: one INSERT and one UPDATE."""
    actor = principal.actor
    _, comments = _store.names(_store.datastore(services))

    def change(row: Row, cursor: Any, now: datetime) -> dict[str, Any] | None:
        if not body.public and actor.kind is ActorKind.REQUESTER:
            msg = "requesters can only add public replies; internal notes are for agents"
            raise NotPermittedError(msg)
        files = [values.Attachment(a.name, a.size, a.content_type).as_dict() for a in body.attachments]
        if len(files) > values.ATTACHMENTS_MAX:
            msg = f"a comment may carry at most {values.ATTACHMENTS_MAX} attachments"
            raise InvalidValueError(msg)
        checked = values.text(body.body, "comment body")
        number = row["comment_count"] + 1
        cursor.execute(
            f"INSERT INTO {comments} (ticket_id, number, author_id, author_kind, public, body, mentions, "
            "attachments, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                row["id"],
                number,
                actor.id,
                actor.kind.value,
                body.public,
                checked,
                Jsonb(values.mentions(checked)),
                Jsonb(files),
                now,
            ],
        )
        return {"comment_count": number}

    return _command(services, principal, ticket_id, expected_version, response, change)


@router.patch("/{ticket_id}", name="update_ticket", response_model=TicketPublic)
def update_ticket(
    ticket_id: UUID,
    body: TicketPatch,
    services: ServicesDep,
    principal: PrincipalDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> TicketPublic:
    """Change priority, type, tags and custom fields together: one UPDATE."""
    if not body.model_fields_set:
        raise InvalidValueError(
            "the patch changes nothing; give priority, type, add_tags, remove_tags or custom_fields"
        )

    def change(row: Row, _: Any, __: datetime) -> dict[str, Any] | None:
        changes: dict[str, Any] = {}
        if body.priority is not None and body.priority.value != row["priority"]:
            changes.update(priority=body.priority.value, priority_rank=body.priority.rank)
        if "type" in body.model_fields_set:
            new_type = None if body.type is None else values.slug(body.type, "type")
            if new_type != row["ticket_type"]:
                changes["ticket_type"] = new_type
        removed = {values.slug(tag, "tag") for tag in body.remove_tags}
        tags = [t for t in values.tags([*row["tags"], *body.add_tags]) if t not in removed]
        if tags != row["tags"]:
            changes["tags"] = Jsonb(tags)
        fields = dict(row["custom_fields"])
        for name, value in body.custom_fields.items():
            values.slug(name, "custom field name")
            if value is None:
                fields.pop(name, None)
                continue
            if name not in fields and len(fields) >= values.CUSTOM_FIELDS_MAX:
                msg = f"a ticket may carry at most {values.CUSTOM_FIELDS_MAX} custom fields"
                raise InvalidValueError(msg)
            fields[name] = value.to_domain().as_dict()
        if fields != row["custom_fields"]:
            changes["custom_fields"] = Jsonb(fields)
        return changes or None

    return _command(services, principal, ticket_id, expected_version, response, change)


# --- the shared steps ----------------------------------------------------------------------------------


def _command(
    services: Services,
    principal: Principal,
    ticket_id: UUID,
    expected_version: int | None,
    response: Response,
    change: Change,
) -> TicketPublic:
    """Lock the ticket's row, check it, apply `change` in place and read the ticket back: one transaction."""
    actor = principal.actor
    datastore = _store.datastore(services)
    tickets, comments = _store.names(datastore)
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(
            f"SELECT {TICKET_COLUMNS} FROM {tickets} WHERE id = %s AND tenant = %s FOR UPDATE",
            [ticket_id, principal.tenant],
        )
        row = cursor.fetchone()
        if row is None or (actor.kind is ActorKind.REQUESTER and row["requester_id"] != actor.id):
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        if expected_version is not None and expected_version != row["version"]:
            raise VersionMismatchError(expected_version, row["version"])
        if row["status"] == Status.CLOSED.value:
            raise TicketClosedError(f"ticket {ticket_id} is closed; it accepts no further changes")
        now = max(services.desk.clock(), row["updated_at"])  # as the event-sourced commands: never backwards
        changes = change(row, cursor, now)
        if changes is not None:
            changes.update(updated_at=now, id=ticket_id)
            assignments = ", ".join(f"{name} = %({name})s" for name in changes if name != "id")
            cursor.execute(
                f"UPDATE {tickets} SET {assignments}, version = version + 1 WHERE id = %(id)s "
                f"RETURNING {TICKET_COLUMNS}",
                changes,
            )
            row = cursor.fetchone()
        cursor.execute(
            f"SELECT number, author_id, author_kind, public, body, mentions, attachments, created_at "
            f"FROM {comments} WHERE ticket_id = %s ORDER BY number",
            [ticket_id],
        )
        found = cursor.fetchall()
    return _answer(response, row, found, actor)


def _answer(response: Response, row: Row, comments: list[Row], by: Actor) -> TicketPublic:
    """The ticket in the same form as the event-sourced endpoints answer, with its ETag."""
    response.headers["ETag"] = etag(row["version"])
    requester = by.kind is ActorKind.REQUESTER
    return TicketPublic(
        id=row["id"],
        version=row["version"],
        tenant=row["tenant"],
        title=row["title"],
        description=row["description"],
        requester_id=row["requester_id"],
        requester_name=row["requester_name"],
        requester_email=row["requester_email"],
        organisation=row["organisation"],
        channel=row["channel"],
        status=row["status"],
        status_category=Status(row["status"]),  # the twin runs the standard workflow only
        workflow="default",
        workflow_version=1,
        priority=Priority(row["priority"]),
        type=row["ticket_type"],
        tags=list(row["tags"]),
        custom_fields={k: custom_field(FieldValue.from_dict(v)) for k, v in row["custom_fields"].items()},
        group=row["group_id"],
        assignee=row["assignee"],
        comments=[_comment(c) for c in comments if c["public"] or not requester],
        satisfaction=None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _comment(row: Row) -> CommentPublic:
    created_at: datetime = row["created_at"]
    return CommentPublic(
        number=row["number"],
        author_id=row["author_id"],
        author_kind=row["author_kind"],
        public=row["public"],
        body=row["body"],
        mentions=list(row["mentions"]),
        attachments=list(row["attachments"]),
        created_at=created_at,
    )
