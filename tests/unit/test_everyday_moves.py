"""The everyday moves of a desk in the domain.

Open into a group, claim (抢单), transfer (转派), links, children, merges, edits of the title and description.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import (
    AlreadyClaimedError,
    IllegalTransitionError,
    InvalidValueError,
    NotPermittedError,
    TicketClosedError,
)
from domain.helpdesk import HelpDesk
from domain.tickets.comments import CommentOrigin
from domain.tickets.history import FieldChange
from domain.values import Attachment

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


# --- merging, and editing the title and description ---------------------------------------------------------


def test_a_merge_closes_the_source_and_copies_its_comments_as_first_written(desk: HelpDesk) -> None:
    source, target = _open(desk), _open(desk)
    desk.add_comment(target, "Looking into it", public=True, by=CAROL, via="web")
    photo = Attachment(name="screen.png", size=1200, content_type="image/png")
    desk.add_comment(source, "Still down", public=True, attachments=[photo], by=REQUESTER, via="email", tenant="acme")
    desk.add_comment(source, "Same as the other one", public=False, by=DAVE, via="phone")
    written = desk.get_ticket(source).comments

    receipt = desk.merge_tickets(source, target, reason="same outage", by=CAROL, via="web")

    merged = receipt.ticket
    assert (merged.status, merged.category.value, merged.merged_into) == ("closed", "closed", str(target))
    taken = desk.get_ticket(target)
    assert taken.merged_sources == [str(source)]
    own, *copies = taken.comments
    assert own.body == "Looking into it"
    assert [(c.number, c.author_id, c.author_kind, c.public, c.body, c.at) for c in copies] == [
        (2, "bob", "requester", True, "Still down", written[0].at),
        (3, "dave", "agent", False, "Same as the other one", written[1].at),
    ]
    assert copies[0].attachments == (photo.as_dict(),)
    assert [c.origin for c in copies] == [
        CommentOrigin(str(source), 1, "email"),
        CommentOrigin(str(source), 2, "phone"),
    ]
    assert _events(desk, source)[-1] == "MergedInto"
    assert _events(desk, target)[-1] == "Merged"
    assert receipt.position == desk.recorder.max_notification_id()  # both saved in one go, the target's last
    (closing,) = [c for c in desk.history(source) if c.event == "MergedInto"]
    assert {c.field: c.new for c in closing.changes} == {
        "status": "closed",
        "merged_into": str(target),
        "merge_reason": "same outage",
    }


def test_a_copy_of_a_copy_keeps_where_it_was_first_written(desk: HelpDesk) -> None:
    first, second, third = _open(desk), _open(desk), _open(desk)
    desk.add_comment(first, "Original words", public=True, by=CAROL, via="chat")
    desk.merge_tickets(first, second, by=CAROL, via="web")
    desk.merge_tickets(second, third, by=CAROL, via="web")

    (copy,) = desk.get_ticket(third).comments
    assert (copy.number, copy.body, copy.origin) == (1, "Original words", CommentOrigin(str(first), 1, "chat"))
    assert desk.get_ticket(third).merged_sources == [str(second)]


def test_a_merge_is_refused_into_itself_a_closed_ticket_or_from_a_closed_one(desk: HelpDesk) -> None:
    source, target, closed = _open(desk), _open(desk), _open(desk)
    desk.transition(closed, "solved", by=CAROL, via="web")
    desk.transition(closed, "closed", by=CAROL, via="web")
    other_tenant = desk.open_ticket(tenant="globex", title="x", requester_id="zed", by=CAROL, via="api").ticket_id
    versions = {t: desk.get_ticket(t).version for t in (source, target, closed)}

    with pytest.raises(InvalidValueError, match="itself"):
        desk.merge_tickets(source, source, by=CAROL, via="web")
    with pytest.raises(TicketClosedError, match="to merge into is closed"):
        desk.merge_tickets(source, closed, by=CAROL, via="web")
    with pytest.raises(TicketClosedError):
        desk.merge_tickets(closed, target, by=CAROL, via="web")
    with pytest.raises(InvalidValueError, match="no ticket"):
        desk.merge_tickets(source, other_tenant, by=CAROL, via="web", tenant="acme")
    with pytest.raises(NotPermittedError):
        desk.merge_tickets(source, target, by=REQUESTER, via="portal", tenant="acme")
    assert {t: desk.get_ticket(t).version for t in versions} == versions  # nothing was stored


def test_a_merged_ticket_refuses_changes_as_a_closed_one_does(desk: HelpDesk) -> None:
    source, target = _open(desk), _open(desk)
    desk.merge_tickets(source, target, by=CAROL, via="web")

    with pytest.raises(TicketClosedError, match=f"merged into {target}"):
        desk.add_comment(source, "one more thing", public=True, by=CAROL, via="web")
    with pytest.raises(TicketClosedError):
        desk.update_ticket(source, title="Renamed", by=CAROL, via="web")
    with pytest.raises(TicketClosedError):
        desk.merge_tickets(_open(desk), source, by=CAROL, via="web")  # it is closed: nothing merges into it


def test_a_merge_closes_a_custom_workflow_ticket_in_its_first_closed_state(desk: HelpDesk) -> None:
    states = [
        {"name": "todo", "category": "new"},
        {"name": "done", "category": "solved"},
        {"name": "dropped", "category": "closed"},
        {"name": "archived", "category": "closed"},
    ]
    definition = {"states": states, "transitions": [{"from": "todo", "to": "done"}], "initial": "todo"}
    desk.publish_workflow(
        tenant="acme", name="chores", definition={**definition, "ticket_types": ["chore"]}, by=CAROL, via="api"
    )
    chore = desk.open_ticket(
        tenant="acme", title="Water plants", requester_id="bob", ticket_type="chore", by=CAROL, via="api"
    ).ticket_id

    merged = desk.merge_tickets(chore, _open(desk), by=CAROL, via="web").ticket
    assert (merged.status, merged.category.value) == ("dropped", "closed")


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
