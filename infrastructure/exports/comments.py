"""The `comments` dataset: one row per comment (`Ticket.CommentAdded`), its facts without its text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from domain.values import ERASED
from infrastructure.exports.columns import UTC_TIME, batch, column
from infrastructure.exports.log import LoggedEvent, logged_events, topics_of
from infrastructure.exports.scope import PAGE, ExportScope, Progress
from infrastructure.privacy.mapper import NOT_OPENED
from infrastructure.readmodels.store import ReadModels

SCHEMA = pa.schema(
    [
        column("position", pa.int64(), nullable=False, meaning="the comment's event position in the log"),
        column("tenant", pa.string(), meaning="the tenant the ticket belongs to"),
        column("ticket_id", pa.string(), nullable=False, meaning="the ticket's id (UUID)"),
        column("number", pa.int32(), nullable=False, meaning="the comment's number on its ticket"),
        column("created_at", UTC_TIME, nullable=False, meaning="when it was written"),
        column("author_id", pa.string(), nullable=False, meaning="who wrote it (a pseudonym)"),
        column("author_kind", pa.string(), nullable=False, meaning="requester, agent or system"),
        column("via", pa.string(), nullable=False, meaning="the channel it came through"),
        column("public", pa.bool_(), nullable=False, meaning="a public reply (true) or an internal note (false)"),
        column("body_length", pa.int32(), meaning="the body's length in characters (null once erased)"),
        column("attachments", pa.int32(), nullable=False, meaning="how many files it carries"),
        column("mentions", pa.int32(), nullable=False, meaning="how many agents it mentions"),
    ]
)


def batches(
    desk: HelpDesk,
    read_models: ReadModels,
    scope: ExportScope,
    progress: Progress | None = None,
    *,
    page: int = PAGE,
) -> Iterator[pa.RecordBatch]:
    """The comments in `scope` as record batches of SCHEMA; progress in log positions."""
    topics = topics_of(Ticket.CommentAdded)
    events = logged_events(desk, read_models, scope, topics=topics, opening=("body",), progress=progress, page=page)
    for found in events:
        if found:
            yield batch(SCHEMA, [_record(e) for e in found])


def _record(logged: LoggedEvent) -> dict[str, Any]:
    comment = logged.event
    body = comment.body
    return {
        "position": logged.position,
        "tenant": logged.tenant,
        "ticket_id": str(comment.originator_id),
        "number": comment.number,
        "created_at": comment.timestamp,
        "author_id": comment.actor_id,
        "author_kind": comment.actor_kind,
        "via": comment.via,
        "public": comment.public,
        "body_length": None if body in (ERASED, NOT_OPENED) or not isinstance(body, str) else len(body),
        "attachments": len(comment.attachments),
        "mentions": len(comment.mentions),
    }
