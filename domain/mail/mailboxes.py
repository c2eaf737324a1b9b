"""Mailboxes: the addresses a tenant receives e-mail at, the group each feeds, and who may write to it.

One `Mailbox` per address (its id follows from the address, so a mail server's `RCPT TO` finds it
with one load, whatever the tenant); the tenant's `MailboxBook` lists its addresses, so admins can
list them. An address belongs to the tenant that configured it first. Automatic messages
(auto-replies, bounces, loops) that reached a mailbox are set aside on its record: the latest
`SET_ASIDE_KEPT` stay in its state for admins to see, every one stays in its events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import FROM_CONTEXT, Recorded, TenantOwned

_MAILBOXES = uuid.UUID("6f1c2d9a-7b3e-4c58-a1d2-5e8f9b0c3a71")
_BOOKS = uuid.UUID("0b7e5a13-2c4d-4f6e-8a9b-1c2d3e4f5a6b")
SET_ASIDE_KEPT = 100
LANGUAGE_MAX = 35  # a BCP 47 tag such as zh-Hans-CN fits with room to spare


def normalised_address(address: str) -> str:
    """An address in its one written form: surrounding space and angle brackets gone, lower case."""
    return values.email(address.strip().strip("<>")).lower()


@dataclass(frozen=True, slots=True)
class SetAside:
    """An automatic message a mailbox received and recorded without opening a ticket."""

    received_at: datetime
    reason: str  # which rule knew it for automatic: `Auto-Submitted: auto-replied`, `empty return path`, ...
    message_key: str  # the stored inbound message's id (the Message-ID itself is not kept)
    sender_sha256: str  # the sender's normalised address, hashed (not personal data in the clear)


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """A mailbox as configured."""

    address: str
    tenant: str
    group: str | None
    admit_unknown_senders: bool
    language: str | None
    active: bool


class Mailbox(TenantOwned):
    """One address a tenant receives e-mail at."""

    class Event(TenantOwned.Event):
        """Base of mailbox events."""

    class Created(Event, Recorded.Created):
        """The address was first configured, by this tenant (who keeps it)."""

        address: str

    class Configured(Event):
        """The mailbox's whole configuration, as of this event."""

        group: str | None
        admit_unknown_senders: bool
        language: str | None

    class Removed(Event):
        """The mailbox takes no more mail (its address stays the tenant's)."""

    class AutomaticMessageSetAside(Event):
        """An automatic message arrived and was recorded without a ticket (and without any answer)."""

        reason: str
        message_key: str
        sender_sha256: str

    @staticmethod
    def create_id(address: str) -> uuid.UUID:
        """The id of the mailbox of `address` (any written form)."""
        return uuid.uuid5(_MAILBOXES, normalised_address(address))

    @classmethod
    def create(cls, *, tenant: str, address: str) -> Mailbox:
        """A new mailbox of the tenant, not configured yet."""
        mailbox: Mailbox = cls._create(
            cls.Created,
            id=cls.create_id(address),
            tenant=identifier(tenant, "tenant"),
            address=normalised_address(address),
        )
        return mailbox

    @event(Created)
    def __init__(self, *, tenant: str, address: str) -> None:
        self.tenant = tenant
        self.address = address
        self.group: str | None = None
        self.admit_unknown_senders = False
        self.language: str | None = None
        self.active = False
        self.set_aside: list[SetAside] = []

    def configure(self, *, group: str | None, admit_unknown_senders: bool, language: str | None) -> None:
        """Configure (or reconfigure) the mailbox and let it take mail; the same configuration records nothing."""
        checked_group = None if group is None else identifier(group, "group")
        checked_language = None if language is None else _language(language)
        same = (self.group, self.admit_unknown_senders, self.language) == (
            checked_group,
            admit_unknown_senders,
            checked_language,
        )
        if not (same and self.active):
            self._configured(
                group=checked_group, admit_unknown_senders=admit_unknown_senders, language=checked_language
            )

    @event(Configured)
    def _configured(self, *, group: str | None, admit_unknown_senders: bool, language: str | None) -> None:
        self.group = group
        self.admit_unknown_senders = admit_unknown_senders
        self.language = language
        self.active = True

    def remove(self) -> None:
        """Stop taking mail; a removed mailbox records nothing."""
        if self.active:
            self._removed()

    @event(Removed)
    def _removed(self) -> None:
        self.active = False

    def set_aside_automatic(self, *, reason: str, message_key: str, sender_sha256: str) -> None:
        """Record an automatic message that reached the mailbox (it opens nothing and is never answered)."""
        self._set_aside(
            reason=values.text("".join(c for c in reason if c.isprintable())[:200] or "automatic", "reason"),
            message_key=message_key,
            sender_sha256=sender_sha256,
        )

    @event(AutomaticMessageSetAside)
    def _set_aside(
        self, timestamp: datetime = FROM_CONTEXT, *, reason: str, message_key: str, sender_sha256: str
    ) -> None:
        kept = [*self.set_aside, SetAside(timestamp, reason, message_key, sender_sha256)]
        self.set_aside = kept[-SET_ASIDE_KEPT:]

    def settings(self) -> MailboxSettings:
        """The mailbox as configured now."""
        return MailboxSettings(
            address=self.address,
            tenant=self.tenant,
            group=self.group,
            admit_unknown_senders=self.admit_unknown_senders,
            language=self.language,
            active=self.active,
        )


class MailboxBook(TenantOwned):
    """The addresses of a tenant's mailboxes, so that they can be listed."""

    class Event(TenantOwned.Event):
        """Base of mailbox book events."""

    class Started(Event, Recorded.Created):
        """The tenant's first mailbox is about to be listed."""

    class Listed(Event):
        address: str

    class Unlisted(Event):
        address: str

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's book."""
        return uuid.uuid5(_BOOKS, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> MailboxBook:
        """A new, empty book for the tenant."""
        book: MailboxBook = cls._create(cls.Started, id=cls.create_id(tenant), tenant=identifier(tenant, "tenant"))
        return book

    @event(Started)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.addresses: list[str] = []

    def list_address(self, address: str) -> None:
        """List the address (a listed one records nothing)."""
        if address not in self.addresses:
            self._listed(address=address)

    @event(Listed)
    def _listed(self, *, address: str) -> None:
        self.addresses = sorted([*self.addresses, address])

    def unlist_address(self, address: str) -> None:
        """Take the address off the list (one not listed records nothing)."""
        if address in self.addresses:
            self._unlisted(address=address)

    @event(Unlisted)
    def _unlisted(self, *, address: str) -> None:
        self.addresses = [a for a in self.addresses if a != address]


def _language(value: str) -> str:
    stripped = value.strip()
    if not stripped or len(stripped) > LANGUAGE_MAX or not all(c.isalnum() or c == "-" for c in stripped):
        msg = f"language must be a language tag such as en or zh-CN (got {value!r})"
        raise InvalidValueError(msg)
    return stripped
