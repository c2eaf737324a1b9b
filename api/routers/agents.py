"""Agent workload, from the `tickets` and `agent_solved_daily` read models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ViewReadDep
from api.plain_text import Identifier
from api.problems import problem_responses
from api.read_schemas import SolvedDay, WorkloadPublic, WorkloadQuery
from domain.actors import identifier
from projections.periods import days_back

router = APIRouter(prefix="/agents", tags=["agents"])


@router.get("/{agent_id}/workload", response_model=WorkloadPublic, responses=problem_responses(401, 422))
def workload(agent_id: Identifier, query: Annotated[WorkloadQuery, Query()], read: ViewReadDep) -> WorkloadPublic:
    """An agent's unsolved tickets by status, and tickets solved per day (UTC) over the last `days` days."""
    position = read.position()
    since = days_back(datetime.now(UTC).date(), query.days)
    load = read.read_models.workload().workload(read.principal.tenant, identifier(agent_id, "agent"), since=since)
    return WorkloadPublic(
        agent=load.agent,
        new=load.by_status["new"],
        open=load.by_status["open"],
        pending=load.by_status["pending"],
        on_hold=load.by_status["on_hold"],
        solved_per_day=[SolvedDay(day=day, solved=n) for day, n in load.solved_per_day],
        view_position=position,
    )
