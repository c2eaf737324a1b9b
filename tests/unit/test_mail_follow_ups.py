"""Follow-up detection (domain/mail/followups.py): our Message-IDs, stored inbound ones, the subject token."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain.mail.followups import candidates, message_ids_in
from domain.mail.threads import notification_message_id, subject_token, thread_root

TICKET = UUID("3f2a9c1e-0000-4000-8000-000000000001")
OTHER = UUID("7b7b7b7b-0000-4000-8000-000000000002")


def _nothing_stored(message_id: str) -> UUID | None:
    return None


def _no_short_refs(ref: str) -> list[UUID]:
    return []


def test_message_ids_are_read_nearest_first() -> None:
    assert message_ids_in(["<c@x>", "<a@x> <b@x>\r\n <c@x>"]) == ["<c@x>", "<b@x>", "<a@x>"]


def test_a_notification_message_id_names_its_ticket() -> None:
    found = candidates(
        in_reply_to=[notification_message_id(TICKET, 12, "bob@example.org", "desk.example")],
        references=[thread_root(OTHER, "desk.example")],
        subject="Re: hello",
        ticket_of_message=_nothing_stored,
        tickets_by_short_ref=_no_short_refs,
    )
    assert found == [TICKET, OTHER]


def test_a_stored_inbound_message_names_its_ticket() -> None:
    stored = {"<first@example.org>": TICKET}
    found = candidates(
        in_reply_to=[],
        references=["<unknown@example.org> <first@example.org>"],
        subject="Re: hello",
        ticket_of_message=stored.get,
        tickets_by_short_ref=_no_short_refs,
    )
    assert found == [TICKET]


def test_the_subject_token_is_the_fallback_and_nothing_repeats() -> None:
    looked_up: list[str] = []

    def by_ref(ref: str) -> list[UUID]:
        looked_up.append(ref)
        return [TICKET]

    found = candidates(
        in_reply_to=[thread_root(TICKET, "desk.example")],
        references=[],
        subject=f"AW: Re: {subject_token(TICKET).upper()} hello",
        ticket_of_message=_nothing_stored,
        tickets_by_short_ref=by_ref,
    )
    assert found == [TICKET]
    assert looked_up == ["3f2a9c1e"]


def test_a_new_message_continues_nothing() -> None:
    found = candidates(
        in_reply_to=[],
        references=[],
        subject=f"About ticket {uuid4()}",
        ticket_of_message=_nothing_stored,
        tickets_by_short_ref=_no_short_refs,
    )
    assert found == []
