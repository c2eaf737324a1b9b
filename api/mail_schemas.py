"""The bodies of mailboxes, their set-aside messages and known senders (docs/email.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.plain_text import Identifier
from domain.values import EMAIL_MAX, EMAIL_PATTERN

AddressPath = Annotated[
    str,
    Path(pattern=EMAIL_PATTERN, max_length=EMAIL_MAX, description="The mailbox's address.", examples=["help@x.org"]),
]
Language = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,35}$", examples=["en", "zh-CN"])]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class MailboxPut(Strict):
    """A mailbox's configuration: the group its tickets wait for, and who may write to it."""

    group: Identifier | None = Field(default=None, description="The group whose queue new tickets join.")
    admit_unknown_senders: StrictBool = Field(
        default=False,
        description="Whether a sender the desk does not know becomes a customer of the tenant (else 550 5.7.1).",
    )
    language: Language | None = Field(default=None, description="The mailbox's language, for replies.")


class MailboxPublic(BaseModel):
    """A mailbox as configured."""

    address: str
    group: str | None
    admit_unknown_senders: bool
    language: str | None


class MailboxList(BaseModel):
    """The tenant's mailboxes, by address."""

    items: list[MailboxPublic]


class SetAsidePublic(BaseModel):
    """An automatic message a mailbox recorded without a ticket (no personal data: hashes only)."""

    received_at: datetime
    reason: str
    message_key: str = Field(description="The inbound message's record id.")
    sender_sha256: str = Field(description="SHA-256 of the sender's normalised address.")


class SetAsideList(BaseModel):
    """The automatic messages a mailbox set aside lately, newest first."""

    items: list[SetAsidePublic]


class MailSenderPut(Strict):
    """Who an e-mail address is: a person (requester id) of the tenant."""

    person_id: Identifier


class MailSenderPublic(BaseModel):
    """An address the tenant knows, and its person."""

    person_id: str
