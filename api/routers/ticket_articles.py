"""Knowledge-base articles linked to a ticket: an agent inserts them into a reply, and the ticket records it."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import Field

from api.deps import CommandDep, etag
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.schemas import StrictBody, TicketPublic
from domain.actors import ActorKind

router = APIRouter(prefix="/tickets", tags=["knowledge base"])


class ArticleLinks(StrictBody):
    """The articles to link to the ticket."""

    articles: list[UUID] = Field(min_length=1, max_length=20, description="Ids of articles of the tenant.")


@router.post(
    "/{ticket_id}/articles", response_model=TicketPublic, responses=problem_responses(401, 403, 404, 409, 412, 422)
)
def link_articles(ticket_id: UUID, body: ArticleLinks, call: CommandDep, response: Response) -> TicketPublic:
    """Link knowledge-base articles to the ticket (as an agent inserts them into a reply): `Ticket.ArticlesLinked`.

    Articles linked already record nothing; an id of no article of the tenant is 422; a closed ticket is 409.
    The links show in the ticket's history (`articles`) and the event feed.
    """
    receipt = call.desk.link_articles(ticket_id, body.articles, **call.provenance)
    response.headers["ETag"] = etag(receipt.version)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return TicketPublic.from_domain(receipt.ticket, for_requester=call.provenance["by"].kind is ActorKind.REQUESTER)
