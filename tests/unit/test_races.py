"""Commands that lose a race are carried out again (domain/races.py), on the real in-memory event store.

The race is made deterministic: the clock, read by a command after it loaded the ticket and before
it saves, saves another change to the same ticket first whenever the test arms it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import RaceLostError, TicketClosedError, VersionMismatchError
from domain.helpdesk import HelpDesk
from domain.provenance import CommandContext, acting

ALICE = Actor("alice", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.AGENT)


class RacingClock:
    """A clock that, while armed, lets another writer change the ticket before each reading returns."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self.rival: Callable[[], None] | None = None
        self.races = 0  # how many readings the rival still wins (-1: every one)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        if self.rival is not None and self.races != 0:
            self.races -= 1
            rival, self.rival = self.rival, None  # the rival's own command reads the clock too
            rival()
            self.rival = rival
        return self.now


@pytest.fixture
def clock() -> RacingClock:
    return RacingClock()


@pytest.fixture
def desk(clock: RacingClock) -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


@pytest.fixture
def ticket_id(desk: HelpDesk) -> UUID:
    return desk.open_ticket(tenant="acme", title="Printer jams", requester_id="carl", by=ALICE, via="web").ticket_id


def _rival(desk: HelpDesk, clock: RacingClock, ticket_id: UUID, change: Callable[..., object]) -> None:
    """Arm the clock: the next reading saves `change` on a copy of the ticket loaded now (as another process would)."""
    copy = desk.get_ticket(ticket_id)

    def save_first() -> None:
        with acting(CommandContext(BOB, "web", clock.now)):
            change(copy)
        desk.save(copy)

    clock.rival, clock.races = save_first, 1


def test_a_command_that_lost_a_race_is_carried_out_on_the_winners_version(
    desk: HelpDesk, clock: RacingClock, ticket_id: UUID
) -> None:
    _rival(desk, clock, ticket_id, lambda t: t.assign(assignee="bob"))

    receipt = desk.add_comment(ticket_id, "On it", public=False, by=ALICE, via="web")

    assert receipt.version == 3
    assert [entry.event for entry in desk.history(ticket_id)] == ["Opened", "Assigned", "CommentAdded"]


def test_with_an_expected_version_the_lost_race_is_a_version_mismatch_and_nothing_is_stored(
    desk: HelpDesk, clock: RacingClock, ticket_id: UUID
) -> None:
    _rival(desk, clock, ticket_id, lambda t: t.assign(assignee="bob"))

    with pytest.raises(VersionMismatchError) as mismatch:
        desk.add_comment(ticket_id, "On it", public=False, by=ALICE, via="web", expected_version=1)

    assert (mismatch.value.expected, mismatch.value.actual) == (1, 2)
    assert desk.get_ticket(ticket_id).version == 2


def test_carried_out_again_a_command_is_checked_against_what_the_winner_left(
    desk: HelpDesk, clock: RacingClock, ticket_id: UUID
) -> None:
    for step in ("open", "solved"):
        desk.transition(ticket_id, step, by=ALICE, via="web")
    _rival(desk, clock, ticket_id, lambda t: desk.move(t, "closed"))

    with pytest.raises(TicketClosedError):  # refused for the right reason, not as a race
        desk.add_comment(ticket_id, "One more thing", public=True, by=ALICE, via="web")

    assert desk.get_ticket(ticket_id).status == "closed"


def test_a_record_that_keeps_changing_is_given_up_on_after_a_while(
    desk: HelpDesk, clock: RacingClock, ticket_id: UUID
) -> None:
    desk.race_seconds = 0.05
    _rival(desk, clock, ticket_id, lambda t: t.add_comment("again", public=False))
    clock.races = -1  # every attempt loses

    with pytest.raises(RaceLostError):
        desk.assign(ticket_id, assignee="alice", by=ALICE, via="web")

    assert all(entry.event != "Assigned" for entry in desk.history(ticket_id))
