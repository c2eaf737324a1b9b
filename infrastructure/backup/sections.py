"""What a backup holds: five tables, each a section of typed columns, in a fixed order.

The events (with their log positions, which the hash chain covers), the chain rows, the data
keys as stored (without them the restored events' personal fields could never be read again;
destroyed keys are kept as destroyed), and who may come in: the API keys (their hashes, never
a secret) and the web users (password hashes; their sessions are not kept: they sign in again).
Snapshots are left out: they are derived from the events, and aggregates load from the events
without them. Values are written as JSON: bytes as base64,
ids as canonical UUID text, so a backup of one store restores into the other.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID


class Kind(StrEnum):
    """How a column's value is written in a backup."""

    INT = "int"
    TEXT = "text"
    UUID = "uuid"
    BYTES = "bytes"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a section: its name in the database, its kind, whether it may be NULL."""

    name: str
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the backup, read and written in `order` (a unique column)."""

    name: str
    columns: tuple[Column, ...]
    order: str

    @property
    def column_names(self) -> list[str]:
        """The columns' names, in the backup's order."""
        return [column.name for column in self.columns]


EVENTS = Section(
    "events",
    (
        Column("notification_id", Kind.INT),
        Column("originator_id", Kind.UUID),
        Column("originator_version", Kind.INT),
        Column("topic", Kind.TEXT),
        Column("state", Kind.BYTES),
    ),
    order="notification_id",
)
CHAIN = Section(
    "chain",
    (
        Column("notification_id", Kind.INT),
        Column("originator_id", Kind.UUID),
        Column("originator_version", Kind.INT),
        Column("stream_hash", Kind.BYTES),
        Column("chain_hash", Kind.BYTES),
    ),
    order="notification_id",
)
DATA_KEYS = Section(
    "data_keys",
    (
        Column("key_ref", Kind.TEXT),
        Column("tenant", Kind.TEXT),
        Column("person_id", Kind.TEXT),
        Column("data_key", Kind.BYTES, nullable=True),
        Column("created_at", Kind.TEXT),
        Column("erased_at", Kind.TEXT, nullable=True),
    ),
    order="key_ref",
)
API_KEYS = Section(
    "api_keys",
    (
        Column("key_id", Kind.TEXT),
        Column("key_hash", Kind.TEXT),
        Column("actor_id", Kind.TEXT),
        Column("actor_kind", Kind.TEXT),
        Column("role", Kind.TEXT),
        Column("tenant", Kind.TEXT),
        Column("created_at", Kind.TEXT),
        Column("revoked_at", Kind.TEXT, nullable=True),
        Column("organisation", Kind.TEXT, nullable=True),
        Column("groups", Kind.TEXT, nullable=True),
    ),
    order="key_id",
)
WEB_USERS = Section(
    "web_users",
    (
        Column("user_id", Kind.TEXT),
        Column("email", Kind.TEXT),
        Column("password_hash", Kind.TEXT),
        Column("actor_id", Kind.TEXT),
        Column("actor_kind", Kind.TEXT),
        Column("role", Kind.TEXT),
        Column("tenant", Kind.TEXT),
        Column("organisation", Kind.TEXT, nullable=True),
        Column("groups", Kind.TEXT, nullable=True),
        Column("language", Kind.TEXT, nullable=True),
        Column("time_zone", Kind.TEXT),
        Column("created_at", Kind.TEXT),
        Column("deactivated_at", Kind.TEXT, nullable=True),
    ),
    order="user_id",
)
SECTIONS = (EVENTS, CHAIN, DATA_KEYS, API_KEYS, WEB_USERS)


def encode_row(section: Section, row: Sequence[Any]) -> list[Any]:
    """A database row as JSON values, in the section's column order."""
    return [encode(value) for encode, value in zip(_ENCODERS[section.name], row, strict=True)]


def decode_row(section: Section, values: Any) -> list[Any]:
    """JSON values back into Python values (UUID, bytes, int, str, None); ValueError if they do not fit."""
    if not isinstance(values, list) or len(values) != len(section.columns):
        msg = f"a row of {section.name} must be a list of {len(section.columns)} values"
        raise ValueError(msg)
    return [decode(value) for decode, value in zip(_DECODERS[section.name], values, strict=True)]


def _bytes(value: Any) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, UUID) else UUID(str(value)))


def _same(value: Any) -> Any:
    return value


def _encoder(column: Column) -> Callable[[Any], Any]:
    return {Kind.BYTES: _bytes, Kind.UUID: _uuid}.get(column.kind, _same)


#: Each section's column encoders, chosen once (a backup encodes every value of the log).
_ENCODERS = {section.name: [_encoder(column) for column in section.columns] for section in SECTIONS}


def _decoder(column: Column) -> Callable[[Any], Any]:
    """The column's decoder, chosen once: a restore decodes every value of the log."""
    converters: dict[Kind, Callable[[Any], Any]] = {
        Kind.BYTES: lambda v: binascii.a2b_base64(v, strict_mode=True),
        Kind.UUID: UUID,
        Kind.INT: _same,
        Kind.TEXT: _same,
    }
    convert = converters[column.kind]
    wanted = int if column.kind is Kind.INT else str

    def decode(value: Any) -> Any:
        if value is None:
            if column.nullable:
                return None
            msg = f"{column.name} is empty"
            raise ValueError(msg)
        if type(value) is not wanted:  # bool is an int to isinstance, never a position
            msg = f"{column.name} is not {column.kind.value}"
            raise ValueError(msg)
        try:
            return convert(value)
        except (binascii.Error, ValueError):
            msg = f"{column.name} is not {column.kind.value}"
            raise ValueError(msg) from None

    return decode


_DECODERS = {section.name: [_decoder(column) for column in section.columns] for section in SECTIONS}
