"""Service metrics: what the facts behind the `/reports` mean (how ticket events fold into them: fold.py).

Every ticket event reaches this slice's fold after the ticket's row; the facts are written with
the other read models of the batch, in the same transaction as its tracking position, so each
event counts exactly once. Three kinds of facts:

- `TicketMetrics` (table `metric_tickets`), one per ticket: when it was opened, through which
  channel, its current type, group and assignee (and since when the assignee has it), its first
  public agent reply, its latest solve, and its latest rating.
- `SolveFact` (table `metric_solves`), one per move to `solved`: the agent it was assigned to
  then, and that agent's handle time.
- `DailyFlow` (table `metric_daily_flow`), per tenant and UTC day: how many tickets were opened,
  solved, reopened, closed, and closed straight from an unsolved status. The backlog at the end of
  a day is the running sum of `opened + reopened - solved - closed_unsolved` up to that day.

Every moment is an event's timestamp; days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from domain.tickets.workflow import Status
from projections.periods import utc_day
from projections.tickets.rows import TicketRow

SOLVED, CLOSED = Status.SOLVED.value, Status.CLOSED.value
#: Statuses in which a ticket is part of the backlog.
BACKLOG_STATUSES = frozenset({Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value})
GOOD_BAD, ONE_TO_FIVE = "good_bad", "one_to_five"


def satisfied(scale: str, score: int) -> bool:
    """Whether a rating counts as satisfied: `good` (1) on the good/bad scale, 4 or 5 on the 1-5 scale."""
    return score == 1 if scale == GOOD_BAD else score >= 4


def minutes_between(start: datetime, end: datetime) -> float:
    """Calendar minutes from `start` to `end`."""
    return (end - start).total_seconds() / 60


@dataclass
class TicketMetrics:
    """One ticket's facts for the service metrics (`metric_tickets`)."""

    ticket_id: UUID
    tenant: str
    created_at: datetime
    channel: str
    ticket_type: str | None  # current
    group: str | None  # current
    assignee: str | None = None  # current
    assigned_at: datetime | None = None  # when the current assignee got the ticket (None: unknown, or none)
    cycle_started_at: datetime | None = None  # the opening, or the latest reopen (None: unknown)
    first_response_at: datetime | None = None  # the first public reply by an agent
    resolved_at: datetime | None = None  # the latest move to solved, while solved or closed; None after a reopen
    rating_scale: str | None = None  # the latest rating
    rating_score: int | None = None
    rated_at: datetime | None = None

    @property
    def created_day(self) -> date:
        """The UTC day the ticket was opened."""
        return utc_day(self.created_at)

    @classmethod
    def from_ticket_row(cls, row: TicketRow) -> TicketMetrics:
        """Facts recovered from a ticket row, for a ticket opened before these facts were kept.

        What the row cannot tell (since when the assignee has it, when a reopened ticket's cycle
        began, ratings) stays unknown until `ledgerdesk rebuild tickets` recomputes everything.
        """
        return cls(
            ticket_id=row.ticket_id,
            tenant=row.tenant,
            created_at=row.created_at,
            channel=row.channel,
            ticket_type=row.ticket_type,
            group=row.group,
            assignee=row.assignee,
            cycle_started_at=row.created_at if row.reopen_count == 0 else None,
            first_response_at=row.first_agent_reply_at,
            resolved_at=row.solved_at,
        )

    def handle_minutes(self, solved_at: datetime) -> float | None:
        """The assignee's handle time of a solve at `solved_at` (see `SolveFact`); None when not known."""
        if self.assignee is None or self.assigned_at is None or self.cycle_started_at is None:
            return None
        return minutes_between(max(self.assigned_at, self.cycle_started_at), solved_at)


@dataclass(frozen=True, slots=True)
class SolveFact:
    """One move to `solved` (`metric_solves`).

    `agent` is the ticket's assignee at that moment (None: nobody was assigned). `handle_minutes`
    are the calendar minutes from when that agent took on the unsolved ticket (the later of their
    assignment and the start of the cycle: the opening or the latest reopen) to the solve.
    """

    ticket_id: UUID
    version: int
    tenant: str
    solved_at: datetime
    agent: str | None
    handle_minutes: float | None

    @property
    def day(self) -> date:
        """The UTC day of the solve."""
        return utc_day(self.solved_at)


@dataclass
class DailyFlow:
    """How tickets of a tenant moved on one UTC day (`metric_daily_flow`)."""

    opened: int = 0
    solved: int = 0  # moves to solved
    reopened: int = 0  # moves from solved back to an unsolved status
    closed: int = 0  # moves to closed, from any status
    closed_unsolved: int = 0  # moves to closed straight from an unsolved status (not through solved)

    @property
    def backlog_change(self) -> int:
        """How the backlog (tickets in an unsolved status) changed over the day."""
        return self.opened + self.reopened - self.solved - self.closed_unsolved


@dataclass
class MetricsBatch:
    """The metric facts a batch of events changed, written by the view with the batch."""

    tickets: dict[UUID, TicketMetrics] = field(default_factory=dict)
    solves: list[SolveFact] = field(default_factory=list)
    flows: dict[tuple[str, date], DailyFlow] = field(default_factory=dict)

    def flow(self, tenant: str, moment: datetime) -> DailyFlow:
        """The tenant's flow counts of the UTC day of `moment`, as changed by this batch."""
        return self.flows.setdefault((tenant, utc_day(moment)), DailyFlow())
