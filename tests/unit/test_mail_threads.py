from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.mail.threads import (
    notification_message_id,
    short_ref,
    short_ref_in,
    subject_token,
    thread_root,
    tickets_referenced,
)


@given(st.uuids(), st.integers(min_value=1, max_value=2**62), st.emails())
def test_a_notification_id_leads_back_to_its_ticket(ticket_id, position, recipient):
    mid = notification_message_id(ticket_id, position, recipient, "desk.example.org")
    assert tickets_referenced([mid]) == [ticket_id]
    assert mid == notification_message_id(ticket_id, position, recipient.upper(), "desk.example.org")


def test_references_name_tickets_nearest_first_once_each():
    first, second = uuid4(), uuid4()
    reply_to = notification_message_id(second, 3, "a@b.c", "d.example")
    header = f"<other@mail.example> {thread_root(first, 'd.example')} {reply_to}"
    assert tickets_referenced([header, thread_root(first, "x.example")]) == [first, second]
    assert tickets_referenced(["<unrelated@example.org>"]) == []


def test_the_subject_token_survives_reply_prefixes():
    ticket_id = uuid4()
    subject = f"RE: 回复: Printer broken {subject_token(ticket_id).upper()}"
    assert short_ref_in(subject) == short_ref(ticket_id)
    assert short_ref_in("no token here [#xyz]") is None
