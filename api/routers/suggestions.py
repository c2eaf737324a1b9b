"""Suggestions learned from the tenant's solved tickets (docs/suggestions.md): read, accept, correct, report.

Thin: schema -> application call -> response model. The model itself lives in infrastructure/suggestions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.deps import CommandDep, PrincipalDep, ServicesDep
from api.problems import problem_responses
from api.routers.tickets import _answer
from api.schemas import TicketPublic
from api.suggestion_schemas import (
    ArticleForTicket,
    ModelVersionPublic,
    ModelVersions,
    SimilarTicketPublic,
    SimilarTickets,
    SuggestionCorrection,
    SuggestionPublic,
    SuggestionReport,
    SuggestionTally,
    TicketSuggestions,
)
from domain.access import policy as access
from infrastructure.suggestions import report
from infrastructure.suggestions.service import plain
from infrastructure.suggestions.similar import similar
from projections.fulltext import query
from projections.tickets.queries import Sort, TicketFilter

router = APIRouter(tags=["suggestions"])

#: How many of the tenant's newest tickets similar tickets are looked for among.
CANDIDATES = 2000
_COMMAND_ERRORS = problem_responses(401, 403, 404, 409, 412, 422)
Number = Annotated[int, Path(ge=1, le=10_000, description="The suggestion's number on the ticket.")]


@router.get("/tickets/{ticket_id}/suggestions", response_model=TicketSuggestions, responses=problem_responses(401, 404))
def list_suggestions(ticket_id: UUID, services: ServicesDep, principal: PrincipalDep) -> TicketSuggestions:
    """The suggestions on record for the ticket; with none, `abstained` says why."""
    ticket = services.desk.get_ticket(ticket_id, tenant=principal.tenant)
    items = [SuggestionPublic.model_validate(plain(made)) for made in ticket.suggestions]
    reason = services.suggestions().for_ticket(ticket).abstained
    return TicketSuggestions(ticket_id=ticket_id, items=items, abstained=None if reason is None else reason.value)


@router.post(
    "/tickets/{ticket_id}/suggestions/{number}/acceptance", response_model=TicketPublic, responses=_COMMAND_ERRORS
)
def accept_suggestion(ticket_id: UUID, number: Number, call: CommandDep, response: Response) -> TicketPublic:
    """Take the suggestion: its value is applied as the field's ordinary change, both recorded in one save."""
    receipt = call.desk.accept_suggestion(ticket_id, number, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post(
    "/tickets/{ticket_id}/suggestions/{number}/correction", response_model=TicketPublic, responses=_COMMAND_ERRORS
)
def correct_suggestion(
    ticket_id: UUID, number: Number, body: SuggestionCorrection, call: CommandDep, response: Response
) -> TicketPublic:
    """Choose another value than the one suggested: the correction and the field's change, in one save."""
    receipt = call.desk.correct_suggestion(ticket_id, number, body.value, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.get("/tickets/{ticket_id}/similar", response_model=SimilarTickets, responses=problem_responses(401, 404, 422))
def similar_tickets(
    ticket_id: UUID,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many.")] = 10,
) -> SimilarTickets:
    """Tickets like this one that the caller reaches (likely duplicates marked), and articles that may answer it."""
    ticket = services.desk.get_ticket(ticket_id, tenant=principal.tenant)
    where = replace(TicketFilter(tenant=principal.tenant), scope=access.list_scope(principal.actor))
    rows = services.read_models.tickets().list_tickets(where, sort=Sort.NEWEST, limit=CANDIDATES).rows
    found = similar(ticket.title, [r for r in rows if r.ticket_id != ticket_id], limit=limit)
    items = [
        SimilarTicketPublic(
            ticket_id=s.row.ticket_id,
            title=s.row.title,
            status=s.row.status,
            score=s.score,
            likely_duplicate=s.likely_duplicate,
        )
        for s in found
    ]
    public_only = access.reads_published_articles_only(principal.actor)
    asked = query(ticket.title, any_term=True)
    answers = services.read_models.knowledge().search(principal.tenant, asked, public_only=public_only, limit=5)
    articles = [
        ArticleForTicket(article_id=a.article_id, title=a.title, language=a.language, score=a.score) for a in answers
    ]
    return SimilarTickets(ticket_id=ticket_id, items=items, articles=articles)


@router.get("/reports/suggestions", response_model=SuggestionReport, responses=problem_responses(401, 403))
def suggestion_report(services: ServicesDep, principal: PrincipalDep) -> SuggestionReport:
    """Acceptance and accuracy of the tenant's suggestions, per field and model version."""
    tallies = report.suggestion_report(services.desk, principal.tenant)
    items = [SuggestionTally.model_validate(t.as_dict()) for t in tallies]
    return SuggestionReport(tenant=principal.tenant, items=items)


@router.get("/suggestions/models", response_model=ModelVersions, responses=problem_responses(401, 403))
def list_suggestion_models(services: ServicesDep, principal: PrincipalDep) -> ModelVersions:
    """The tenant's trained model versions, newest first, each with its training window, size and holdout report."""
    versions = services.model_store().versions(principal.tenant)
    return ModelVersions(items=[ModelVersionPublic.model_validate(v.as_dict()) for v in versions])
