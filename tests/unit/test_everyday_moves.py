"""The everyday moves of a desk in the domain.

Open into a group, claim (抢单), transfer (转派), links, children, edits of the title and description.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import AlreadyClaimedError, IllegalTransitionError, InvalidValueError, NotPermittedError
from domain.helpdesk import HelpDesk
from domain.tickets.history import FieldChange

CAROL = Actor("carol", ActorKind.AGENT, role="agent")
DAVE = Actor("dave", ActorKind.AGENT, role="agent")
NETWORK_ONLY = Actor("nina", ActorKind.AGENT, role="agent", groups=frozenset({"network"}))
REQUESTER = Actor("bob", ActorKind.REQUESTER, role="customer")


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _open(desk: HelpDesk, group: str | None = "it") -> UUID:
    receipt = desk.open_ticket(tenant="acme", title="VPN down", requester_id="bob", group=group, by=CAROL, via="api")
    return receipt.ticket_id


def _events(desk: HelpDesk, ticket_id: UUID) -> list[str]:
    return [type(e).__name__ for e in desk.events.get(ticket_id)]


def test_a_ticket_opened_into_a_group_lands_in_its_queue_in_one_save(desk: HelpDesk) -> None:
    ticket_id = _open(desk)

    assert desk.get_ticket(ticket_id).group == "it"
    assert _events(desk, ticket_id) == ["Opened", "Assigned"]
    with pytest.raises(NotPermittedError):
        desk.open_ticket(tenant="acme", title="x", requester_id="bob", group="it", by=NETWORK_ONLY, via="api")


def test_the_first_claim_wins_and_the_next_names_the_winner(desk: HelpDesk) -> None:
    ticket_id = _open(desk)
    desk.claim(ticket_id, by=CAROL, via="web")
    desk.claim(ticket_id, by=CAROL, via="web")  # hers already: nothing recorded

    with pytest.raises(AlreadyClaimedError) as refused:
        desk.claim(ticket_id, by=DAVE, via="web")
    assert refused.value.assignee == "carol"
    ticket = desk.get_ticket(ticket_id)
    assert (ticket.assignee, ticket.group, ticket.version) == ("carol", "it", 3)
    with pytest.raises(NotPermittedError):
        desk.claim(_open(desk), by=REQUESTER, via="portal")


def test_a_transfer_hands_on_with_its_reason_as_an_internal_note(desk: HelpDesk) -> None:
    ticket_id = _open(desk)
    desk.claim(ticket_id, by=CAROL, via="web")

    receipt = desk.transfer(
        ticket_id, assignee="dave", group="network", reason="needs a router expert", by=CAROL, via="web"
    )

    ticket = receipt.ticket
    assert (ticket.assignee, ticket.group) == ("dave", "network")
    (note,) = ticket.comments
    assert (note.public, note.body) == (False, "Transferred: needs a router expert")
    assert _events(desk, ticket_id)[-2:] == ["Assigned", "CommentAdded"]
    unchanged = desk.transfer(ticket_id, assignee="dave", group="network", reason="again", by=CAROL, via="web")
    assert unchanged.ticket.version == ticket.version  # nothing to hand on: no note either
    with pytest.raises(InvalidValueError):
        desk.transfer(ticket_id, group="it", reason="  ", by=CAROL, via="web")


# --- links, parents and children -------------------------------------------------------------------------


def test_a_link_is_recorded_on_both_tickets_from_each_side(desk: HelpDesk) -> None:
    first, second = _open(desk), _open(desk)

    desk.link_tickets(second, first, "duplicate_of", by=CAROL, via="web")
    desk.link_tickets(second, first, "duplicate_of", by=CAROL, via="web")  # there already: nothing recorded

    assert [(k.type.value, k.ticket_id) for k in desk.get_ticket(second).links] == [("duplicate_of", str(first))]
    assert [(k.type.value, k.ticket_id) for k in desk.get_ticket(first).links] == [("duplicated_by", str(second))]
    assert _events(desk, first)[-1] == _events(desk, second)[-1] == "Linked"
    desk.unlink_tickets(first, second, "duplicated_by", by=CAROL, via="web")
    assert desk.get_ticket(first).links == desk.get_ticket(second).links == []
    with pytest.raises(InvalidValueError):
        desk.link_tickets(first, first, "related", by=CAROL, via="web")
    with pytest.raises(InvalidValueError):
        desk.link_tickets(first, second, "parent_of", by=CAROL, via="web")  # children come with their opening


def test_a_parent_waits_for_its_children_and_records_their_solves(desk: HelpDesk) -> None:
    parent = _open(desk)
    child = desk.open_ticket(
        tenant="acme", title="Replace cable", requester_id="bob", parent_id=parent, by=CAROL, via="api"
    ).ticket_id

    assert desk.get_ticket(parent).children() == [child]
    assert desk.get_ticket(child).parent() == parent
    with pytest.raises(IllegalTransitionError, match="children not solved"):
        desk.transition(parent, "solved", by=CAROL, via="web")
    desk.transition(child, "solved", by=CAROL, via="web")
    assert _events(desk, parent)[-1] == "ChildSolved"
    assert desk.get_ticket(parent).children_solved == [str(child)]
    desk.transition(parent, "solved", by=CAROL, via="web")
    assert desk.get_ticket(parent).category.value == "solved"


# --- editing the title and description ------------------------------------------------------------------


def test_editing_the_title_and_description_records_each_old_to_new(desk: HelpDesk) -> None:
    ticket_id = _open(desk)

    desk.update_ticket(ticket_id, title="  VPN down in Berlin ", description="Since 9:00", by=CAROL, via="web")
    desk.update_ticket(ticket_id, title="VPN down in Berlin", description="Since 9:00", by=CAROL, via="web")

    ticket = desk.get_ticket(ticket_id)
    assert (ticket.title, ticket.description) == ("VPN down in Berlin", "Since 9:00")
    assert _events(desk, ticket_id)[-2:] == ["TitleChanged", "DescriptionChanged"]  # the same again: nothing
    changes = [c.changes for c in desk.history(ticket_id)[-2:]]
    assert changes == [
        (FieldChange("title", "VPN down", "VPN down in Berlin"),),
        (FieldChange("description", "", "Since 9:00"),),
    ]
    with pytest.raises(InvalidValueError):
        desk.update_ticket(ticket_id, title="   ", by=CAROL, via="web")
