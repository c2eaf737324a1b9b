"""Signatures as Standard Webhooks says, checked with its library; the retry schedule; what an endpoint selects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from domain.errors import InvalidRuleError, InvalidValueError
from domain.webhooks.selection import EventFacts, Selection, event_filter, event_types
from domain.webhooks.urls import webhook_url
from infrastructure.webhooks.backoff import Backoff
from infrastructure.webhooks.deliveries import delivery_id
from infrastructure.webhooks.signing import new_secret, signature, signed_headers

# The specification's published test vector (a public example secret, not one of ours).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_AT = datetime.fromtimestamp(1614265330, UTC)
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_test_vector() -> None:
    assert signature([VECTOR_SECRET], VECTOR_ID, VECTOR_AT, VECTOR_BODY) == VECTOR_SIGNATURE


def test_a_delivery_verifies_with_the_reference_library_and_fails_when_changed() -> None:
    secret = new_secret()
    body = b'{"type": "Ticket.Opened"}'
    headers = signed_headers([secret], "msg_1", datetime.now(UTC), body)
    assert Webhook(secret).verify(body, headers) == {"type": "Ticket.Opened"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type": "Ticket.Merged"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    stale = signed_headers([secret], "msg_1", datetime.now(UTC) - timedelta(minutes=6), body)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


def test_while_a_secret_rotates_both_sign_and_either_verifies() -> None:
    old, new = new_secret(), new_secret()
    body = b"{}"
    headers = signed_headers([new, old], "msg_2", datetime.now(UTC), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == {}
    assert Webhook(new).verify(body, headers) == {}


def test_new_secrets_are_whsec_and_32_random_bytes() -> None:
    made = {new_secret() for _ in range(50)}
    assert len(made) == 50
    assert all(s.startswith("whsec_") and len(Webhook(s)._whsecret) == 32 for s in made)


def test_a_delivery_keeps_its_id_whatever_the_attempt() -> None:
    assert delivery_id("e1", 7) == delivery_id("e1", 7)
    assert len({delivery_id("e1", 7), delivery_id("e1", 8), delivery_id("e2", 7)}) == 3


@given(st.integers(1, 200), st.floats(0, 1))
def test_backoff_grows_to_its_cap_with_at_most_half_taken_off(tries: int, luck: float) -> None:
    backoff = Backoff(base_seconds=5, cap_seconds=3600)
    wait = backoff.delay(tries, lambda: luck)
    ceiling = min(3600.0, 5 * 2.0 ** (tries - 1))
    assert ceiling / 2 <= wait <= ceiling
    assert backoff.ceiling(tries + 1) >= backoff.ceiling(tries)


def test_the_backoff_schedule() -> None:
    backoff = Backoff(base_seconds=5, cap_seconds=21_600)
    assert [backoff.ceiling(n) for n in range(1, 8)] == [5, 10, 20, 40, 80, 160, 320]
    assert backoff.ceiling(30) == 21_600


def test_event_types_are_the_feeds_or_wildcards() -> None:
    assert event_types(["Ticket.Opened", "*", "Ticket.Opened"]) == ("*", "Ticket.Opened")
    with pytest.raises(InvalidRuleError, match=r"event_types/1: unknown event type 'Ticket\.Opend'"):
        event_types(["Ticket.Opened", "Ticket.Opend"])
    with pytest.raises(InvalidRuleError, match="event_types"):
        event_types([])


def test_a_filter_tests_the_event_alone() -> None:
    public_comments = event_filter({"all": [{"field": "payload.public", "op": "equals", "value": True}]})
    selection = Selection(("Ticket.CommentAdded",), public_comments)
    said = EventFacts("Ticket.CommentAdded", "email", "bob", "requester", {"public": True})
    noted = EventFacts("Ticket.CommentAdded", "web", "alice", "agent", {"public": False})
    opened = EventFacts("Ticket.Opened", "web", "alice", "agent", {"public": True})
    assert [selection.selects(e) for e in (said, noted, opened)] == [True, False, False]
    assert Selection(("Ticket.*",)).selects(opened)
    assert not Selection(("Ticket.*",)).selects(EventFacts("SavedView.Created", "web", "a", "agent", {}))
    with pytest.raises(InvalidRuleError, match="filter/all/0/field: unknown field 'priority'"):
        event_filter({"all": [{"field": "priority", "op": "equals", "value": "urgent"}]})
    with pytest.raises(InvalidRuleError, match="filter/all/0/op"):
        event_filter({"all": [{"field": "payload.priority", "op": "changed"}]})


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://example.com/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://example.com", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com/#x", "fragment"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com:99999/", "not a URL"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url: str, said: str) -> None:
    with pytest.raises(InvalidValueError, match=said):
        webhook_url(url)
