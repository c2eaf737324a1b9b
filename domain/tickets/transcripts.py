"""A chat bot's conversation handed over to a ticket (机器人转人工): each message becomes a comment.

The messages keep their authors and the times they were written; the hand-off event itself is
recorded at the moment of the hand-off, so replaying the ticket reads every time from its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain import values
from domain.actors import ActorKind
from domain.errors import InvalidValueError
from domain.tickets.comments import Comment

#: The most messages one hand-off carries (a longer chat is summed up by the bot, not stored whole).
TRANSCRIPT_MESSAGES_MAX = 500
#: The longest message of a transcript, in characters.
TRANSCRIPT_TEXT_MAX = 8_000
#: Who wrote the bot's messages, as a comment's author (the customer's are the requester's).
BOT_AUTHOR = "bot"
#: The author kind of the bot's comments (people and processes act as the kinds of `ActorKind`).
BOT_KIND = "bot"


class Speaker(StrEnum):
    """Who wrote a message of the conversation."""

    BOT = "bot"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """One message of the conversation: who wrote it, when, and what it said."""

    author: Speaker
    at: datetime
    text: str


def transcript_comments(
    messages: Sequence[TranscriptMessage], *, requester_id: str, first_number: int, now: datetime
) -> list[Comment]:
    """The messages as public comments numbered from `first_number`, in order; refused if any is amiss.

    A message must carry a time zone, not lie after `now` (the hand-off's moment) and not come
    before the message ahead of it: a transcript out of order is refused rather than reordered,
    so what the ticket shows is what the bot sent.
    """
    if len(messages) > TRANSCRIPT_MESSAGES_MAX:
        msg = f"a transcript may hold at most {TRANSCRIPT_MESSAGES_MAX} messages (got {len(messages)})"
        raise InvalidValueError(msg)
    comments: list[Comment] = []
    for index, message in enumerate(messages):
        _check_time(message.at, index, now, comments[-1].at if comments else None)
        comments.append(_comment(message, index, requester_id, first_number + index))
    return comments


def _check_time(at: datetime, index: int, now: datetime, previous: datetime | None) -> None:
    where = f"transcript message {index + 1}"
    if at.tzinfo is None:
        msg = f"{where}: the time must carry a time zone offset, e.g. 2026-11-23T09:00:00Z"
        raise InvalidValueError(msg)
    if at > now:
        msg = f"{where}: its time {at.isoformat()} is in the future"
        raise InvalidValueError(msg)
    if previous is not None and at < previous:
        msg = f"{where}: its time {at.isoformat()} is before the message ahead of it; send the messages in order"
        raise InvalidValueError(msg)


def _comment(message: TranscriptMessage, index: int, requester_id: str, number: int) -> Comment:
    where = f"transcript message {index + 1}"
    body = values.text(message.text, f"{where} text")
    if len(body) > TRANSCRIPT_TEXT_MAX:
        msg = f"{where} text must be at most {TRANSCRIPT_TEXT_MAX} characters (got {len(body)})"
        raise InvalidValueError(msg)
    by_bot = _speaker(message.author, where) is Speaker.BOT
    author, kind = (BOT_AUTHOR, BOT_KIND) if by_bot else (requester_id, ActorKind.REQUESTER.value)
    return Comment(number, author, kind, True, body, (), (), message.at.astimezone(UTC))


def _speaker(author: str, where: str) -> Speaker:
    try:
        return Speaker(author)
    except ValueError:
        msg = f"{where}: the author must be bot or customer (got {author!r})"
        raise InvalidValueError(msg) from None
