"""Ticket statuses and the lifecycle that says which moves between them are legal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import IllegalTransitionError, InvalidValueError
from domain.values import choice


class Status(StrEnum):
    """Where a ticket stands in its lifecycle."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the requester
    ON_HOLD = "on_hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"  # final


def status(value: str) -> Status:
    """Parse a status name, or raise."""
    return choice(Status, value, "status")


_S = Status
DEFAULT_TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    _S.NEW: frozenset({_S.OPEN, _S.PENDING, _S.ON_HOLD, _S.SOLVED}),
    _S.OPEN: frozenset({_S.PENDING, _S.ON_HOLD, _S.SOLVED}),
    _S.PENDING: frozenset({_S.OPEN, _S.ON_HOLD, _S.SOLVED}),
    _S.ON_HOLD: frozenset({_S.OPEN, _S.PENDING, _S.SOLVED}),
    _S.SOLVED: frozenset({_S.OPEN, _S.CLOSED}),  # solved -> open is a reopen
    _S.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class Workflow:
    """A lifecycle: for each status, the statuses a ticket may move to next.

    `closed` must stay final, whatever an administrator configures: closed tickets are
    the settled record.
    """

    transitions: Mapping[Status, frozenset[Status]] = field(default_factory=lambda: DEFAULT_TRANSITIONS)

    def __post_init__(self) -> None:
        if self.transitions.get(Status.CLOSED):
            msg = "a workflow may not allow leaving 'closed'"
            raise InvalidValueError(msg)

    def allowed_from(self, current: Status) -> frozenset[Status]:
        """The statuses a ticket in `current` may move to."""
        return self.transitions.get(current, frozenset())

    def check(self, current: Status, target: Status) -> None:
        """Raise IllegalTransitionError unless `current` -> `target` is allowed."""
        if target not in self.allowed_from(current):
            allowed = ", ".join(sorted(self.allowed_from(current))) or "none (it is final)"
            msg = f"a ticket cannot move from '{current}' to '{target}'; allowed from '{current}': {allowed}"
            raise IllegalTransitionError(msg)


DEFAULT_WORKFLOW = Workflow()
