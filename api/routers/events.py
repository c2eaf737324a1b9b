"""The event feed: every event of the tenant in recording order, resumable from a stored cursor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import ViewReadDep
from api.problems import problem_responses
from api.read_schemas import FeedItem, FeedPage, FeedQuery
from infrastructure.readmodels.feed import EventFeed, decode_position, encode_position, feed_item

router = APIRouter(prefix="/events", tags=["event feed"])


@router.get("", response_model=FeedPage, responses=problem_responses(401, 422))
def feed(query: Annotated[FeedQuery, Query()], read: ViewReadDep, request: Request) -> FeedPage:
    """Events after the cursor, oldest first.

    Store `next_cursor` and pass it as `after` next time: you will see every event exactly once, in
    position order. A page may hold fewer than `limit` items (or none) while the cursor still moves
    on; an empty page with an unchanged cursor means you are at the head.
    """
    read.position()
    after = 0 if query.after is None else decode_position(query.after)
    page = EventFeed(read.services.desk, read.read_models).page(read.principal.tenant, after=after, limit=query.limit)
    cursor = encode_position(page.after)
    items = [FeedItem.model_validate(feed_item(e)) for e in page.entries]  # as webhooks send them too
    next_url = str(request.url.include_query_params(after=cursor))
    return FeedPage(items=items, next_cursor=cursor, next=next_url, view_position=page.view_position)
