"""A chat bot hands its conversation over with the ticket it opens, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

Who = dict[str, dict[str, str]]
#: Before the test clock's first reading (tests/support/clock.py): every generated message is in the past.
CHAT_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CHAT = {"Ledgerdesk-Channel": "chat"}


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, Who, Services]]:
    keys = {
        "bot": served.keys.create(actor_id="chatbot", role=Role.AGENT, tenant="acme").secret,
        "bob": served.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret,
        "boss": served.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret,
        "zed": served.keys.create(actor_id="zed", role=Role.AGENT, tenant="globex").secret,
    }
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}", **CHAT} for name, secret in keys.items()}, served


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _message(author: str, minutes: float, text: str) -> dict[str, str]:
    return {"author": author, "at": (CHAT_START + timedelta(minutes=minutes)).isoformat(), "text": text}


def _hand_over(client: TestClient, who: Who, transcript: list[dict[str, str]], **extra: Any) -> Any:
    body = {"title": "Refund for order 1042", "requester_id": "bob", "transcript": transcript, **extra}
    return client.post("/tickets", json=body, headers=who["bot"])


def _shown(comment: dict[str, Any]) -> tuple[str, str, str, bool, datetime]:
    at = datetime.fromisoformat(comment["created_at"])
    return comment["author_id"], comment["author_kind"], comment["body"], comment["public"], at


texts = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=40).filter(
    str.strip
)
transcripts = st.lists(
    st.tuples(st.sampled_from(["bot", "customer"]), st.integers(0, 600), texts), min_size=1, max_size=25
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=transcripts)
def test_the_hand_off_keeps_every_message_in_order_with_its_author_and_time(
    api: Any, script: list[tuple[str, int, str]]
) -> None:
    client, who, _ = api
    minutes = 0.0
    transcript = []
    for author, step, text in script:  # non-decreasing times, ties included
        minutes += step / 600
        transcript.append(_message(author, minutes, text))
    opened = _ok(_hand_over(client, who, transcript), 201)

    expected = [
        ("bot" if m["author"] == "bot" else "bob", "bot" if m["author"] == "bot" else "requester", m["text"], True)
        for m in transcript
    ]
    times = [datetime.fromisoformat(m["at"]) for m in transcript]
    for shown in (opened, _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))):
        assert [c["number"] for c in shown["comments"]] == list(range(1, len(transcript) + 1))
        assert [_shown(c)[:4] for c in shown["comments"]] == expected
        assert [_shown(c)[4] for c in shown["comments"]] == times
    # The record, read from the store: one event at the moment of the hand-off, the messages' own times inside.
    history = _ok(client.get(f"/tickets/{opened['id']}/history", headers=who["boss"]))["items"]
    handed = [e for e in history if e["event"] == "HandedOver"]
    assert len(handed) == 1
    assert datetime.fromisoformat(handed[0]["at"]) > times[-1]
    bodies = [c["new"]["body"] for c in handed[0]["changes"]]
    assert bodies == [m["text"] for m in transcript]


def test_the_customer_sees_the_conversation_and_counts_of_replies_follow(api: Any) -> None:
    client, who, _ = api
    transcript = [_message("customer", 0, "我的订单没到"), _message("bot", 1, "Let me get a person for you.")]
    answer = _hand_over(client, who, transcript)
    opened = _ok(answer, 201)
    mine = _ok(client.get(f"/tickets/{opened['id']}", headers=who["bob"]))
    assert [c["body"] for c in mine["comments"]] == ["我的订单没到", "Let me get a person for you."]
    position = answer.headers["Ledgerdesk-Position"]
    listed = _ok(client.get("/tickets", params={"requester_id": "bob", "min_position": position}, headers=who["boss"]))
    (row,) = [t for t in listed["items"] if t["id"] == opened["id"]]
    assert row["public_comments"] == 2
    assert datetime.fromisoformat(row["last_requester_activity_at"]) == datetime.fromisoformat(transcript[0]["at"])


def test_erasing_the_customer_erases_their_messages_and_keeps_the_bot_s(api: Any) -> None:
    client, who, _ = api
    transcript = [_message("customer", 0, "My card ends 4242"), _message("bot", 1, "A person will help.")]
    opened = _ok(_hand_over(client, who, transcript), 201)
    _ok(client.post("/privacy/erasures", json={"person_id": "bob"}, headers=who["boss"]))
    shown = _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))
    assert [c["body"] for c in shown["comments"]] == ["[erased]", "A person will help."]
    history = _ok(client.get(f"/tickets/{opened['id']}/history", headers=who["boss"]))["items"]
    handed = next(e for e in history if e["event"] == "HandedOver")
    assert [c["new"]["body"] for c in handed["changes"]] == ["[erased]", "A person will help."]


def _stored(served: Services) -> int:
    return int(served.desk.recorder.max_notification_id() or 0)


@pytest.mark.parametrize(
    ("transcript", "extra", "said"),
    [
        ([_message("customer", 24 * 60 * 30, "from the future")], {}, "is in the future"),
        ([_message("bot", 5, "second"), _message("customer", 1, "first")], {}, "before the message ahead of it"),
        ([{"author": "bot", "at": "2026-11-23T08:00:00", "text": "no offset"}], {}, "time zone offset"),
        ([_message("customer", 0, "hello")], {"channel": "email"}, "opened through chat"),
        ([{"author": "agent", "at": "2026-11-23T08:00:00Z", "text": "who?"}], {}, "author"),
        ([_message("bot", 0, "x" * 8_001)], {}, "text"),
        ([_message("bot", 0, "hi")] * 501, {}, "transcript"),
    ],
)
def test_a_bad_transcript_is_refused_as_a_problem_and_nothing_is_stored(
    api: Any, transcript: list[dict[str, str]], extra: dict[str, Any], said: str
) -> None:
    client, who, served = api
    before = _stored(served)
    refused = _hand_over(client, who, transcript, **extra)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert said in refused.text
    assert _stored(served) == before


def test_a_customer_cannot_hand_over_a_transcript(api: Any) -> None:
    client, who, served = api
    before = _stored(served)
    body = {"title": "Where is my order", "transcript": [_message("bot", 0, "I am the bot, honest")]}
    refused = client.post("/tickets", json=body, headers=who["bob"])
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert _stored(served) == before
