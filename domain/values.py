"""Value objects of a ticket: priority, type, tags, custom fields, comment text and mentions."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from domain.errors import InvalidValueError

TITLE_MAX = 200
TEXT_MAX = 65_536
TAGS_MAX = 50
CUSTOM_FIELDS_MAX = 50
ATTACHMENTS_MAX = 20
#: An attachment's size in bytes: at most 1 GiB (the file itself is stored elsewhere).
ATTACHMENT_SIZE_MAX = 2**30
#: A number custom field's magnitude: integers up to it are exact as a double, in JSON and JavaScript.
NUMBER_MAX = 2**53 - 1
#: A text custom field's length.
FIELD_TEXT_MAX = 1024
#: The options an enum or multi_enum field's definition names (and so the most a multi_enum value holds).
OPTIONS_MAX = 100
NAME_MAX = 200
#: A stored file's name in the file store (infrastructure/attachments): letters, digits, `.`, `-`, `/`.
BLOB_NAME_MAX = 200
EMAIL_MAX = 254

#: What a personal field reads as once its owner's data was erased (its key destroyed).
ERASED = "[erased]"

#: What an address cannot contain: @ inside its parts, controls, and every kind of space. Written
#: with escapes both Python's `re` and ECMA-262 read alike, so the OpenAPI states the same rule.
_NOT_IN_EMAIL = r"@\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
#: An e-mail address, shape only: one @, a dot in the domain, no spaces (also the OpenAPI's pattern).
EMAIL_PATTERN = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$"
#: Stripped around an address: what people paste with one.
EMAIL_SURROUNDING = " \t\r\n"
_EMAIL = re.compile(EMAIL_PATTERN)
#: Tags, types, custom field names, enum options, view names (also the OpenAPI's pattern for them).
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_SLUG = re.compile(SLUG_PATTERN)
# A mention is "@name" not preceded by a word character, so "bob@example.com" mentions nobody.
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
MENTION_MAX = 128
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BLOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")

E = TypeVar("E", bound=StrEnum)

#: Types every help desk knows; any other slug may be configured and is accepted.
KNOWN_TYPES = ("question", "incident", "problem", "task")


class Priority(StrEnum):
    """How urgent a ticket is, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent, for sorting."""
        return list(Priority).index(self)


def choice(options: type[E], value: str, what: str) -> E:
    """Parse one of an enumeration's values, or raise naming the allowed ones."""
    try:
        return options(value)
    except ValueError:
        names = ", ".join(option.value for option in options)
        msg = f"{what} must be one of {names} (got {value!r})"
        raise InvalidValueError(msg) from None


def priority(value: str) -> Priority:
    """Parse a priority name, or raise."""
    return choice(Priority, value, "priority")


def slug(value: str, what: str) -> str:
    """Return `value` if it is a lowercase slug (tags, types, custom field names), else raise."""
    if not _SLUG.fullmatch(value):
        msg = f"{what} must be a lowercase slug of 1-64 characters a-z 0-9 _ . - (got {value!r})"
        raise InvalidValueError(msg)
    return value


#: C0 control characters no person types and PostgreSQL cannot store (NUL), or that are never text.
#: Tab, line feed and carriage return are kept: they are how people lay text out, and browsers send
#: a textarea's line breaks and e-mail brings its lines as CR LF, so refusing CR would refuse
#: ordinary pasted or mailed text.
CONTROL_CHARACTERS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
_UNSTORABLE = re.compile(f"[{re.escape(CONTROL_CHARACTERS)}\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored as text (a control character or a lone surrogate), or None if it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a lone surrogate (U+{code:04X}), which is not valid Unicode"
    return f"contains the control character U+{code:04X}; only tab, line feed and carriage return are allowed"


def _storable(value: str, what: str) -> str:
    """Refuse text that cannot be stored or that no person types: C0 controls but tab, LF, CR; lone surrogates."""
    reason = unstorable(value)
    if reason is not None:
        msg = f"{what} {reason}"
        raise InvalidValueError(msg)
    return value


def storable_data(value: Any, what: str) -> Any:
    """Check every string in a JSON-like value (keys included, at any depth) with `_storable`; return it."""
    if isinstance(value, str):
        return _storable(value, what)
    if isinstance(value, dict):
        for key, item in value.items():
            storable_data(key, f"{what} (a name)")
            storable_data(item, f"{what}.{key}" if isinstance(key, str) else what)
    elif isinstance(value, list | tuple):
        for item in value:
            storable_data(item, what)
    return value


def title(value: str) -> str:
    """A ticket title: non-blank, at most TITLE_MAX characters, surrounding white space removed."""
    stripped = _storable(value, "title").strip()
    if not stripped:
        msg = "title must not be blank"
        raise InvalidValueError(msg)
    if len(stripped) > TITLE_MAX:
        msg = f"title must be at most {TITLE_MAX} characters (got {len(stripped)})"
        raise InvalidValueError(msg)
    return stripped


def text(value: str, what: str, *, allow_blank: bool = False) -> str:
    """Free text (descriptions, comment bodies) of bounded length."""
    _storable(value, what)
    if not allow_blank and not value.strip():
        msg = f"{what} must not be blank"
        raise InvalidValueError(msg)
    if len(value) > TEXT_MAX:
        msg = f"{what} must be at most {TEXT_MAX} characters (got {len(value)})"
        raise InvalidValueError(msg)
    return value


def person_name(value: str) -> str:
    """A person's display name: non-blank, at most NAME_MAX characters, surrounding white space removed."""
    stripped = _storable(value, "name").strip()
    if not stripped or len(stripped) > NAME_MAX:
        msg = f"name must be 1-{NAME_MAX} characters"
        raise InvalidValueError(msg)
    return stripped


def email(value: str) -> str:
    """An e-mail address (shape only: one @, a dot in the domain, no spaces), at most EMAIL_MAX characters."""
    stripped = _storable(value, "email").strip(EMAIL_SURROUNDING)
    if len(stripped) > EMAIL_MAX or not _EMAIL.fullmatch(stripped):
        msg = f"email must look like name@example.org and be at most {EMAIL_MAX} characters (got {value!r})"
        raise InvalidValueError(msg)
    return stripped


def tags(values: Iterable[str]) -> list[str]:
    """A sorted, duplicate-free list of tag slugs."""
    result = sorted({slug(v, "tag") for v in values})
    if len(result) > TAGS_MAX:
        msg = f"a ticket may carry at most {TAGS_MAX} tags (got {len(result)})"
        raise InvalidValueError(msg)
    return result


def mentions(body: str) -> list[str]:
    """The names @mentioned in a comment body, in order of first appearance, without repeats."""
    return list(dict.fromkeys(name for name in _MENTION.findall(body) if len(name) <= MENTION_MAX))


class FieldKind(StrEnum):
    """The type of a custom field's value."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"  # some of the options, each at most once
    BOOLEAN = "boolean"

    @property
    def has_options(self) -> bool:
        """Whether a definition of this kind names the options its values choose from."""
        return self in (FieldKind.ENUM, FieldKind.MULTI_ENUM)


#: What a custom field holds: text, a number, a date (ISO-8601 text), an option, options, true or false.
Scalar = str | int | float | bool
FieldData = Scalar | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A typed custom field value. Dates are ISO-8601 strings; enum options are slugs.

    A multi_enum value is a sorted tuple of distinct option slugs (a list in stored events and in
    JSON), so choosing the same options in another order changes nothing.

    `owner` is set when the field's definition marks it personal: the person the value is about
    (the ticket's requester), whose data key encrypts it in storage and whose erasure erases it.
    """

    kind: FieldKind
    value: FieldData
    owner: str | None = None

    @classmethod
    def parse(cls, kind: str, value: Any) -> FieldValue:
        """Validate a (kind, value) pair, or raise."""
        field_kind = choice(FieldKind, kind, "custom field kind")
        return cls(field_kind, _check_field_value(field_kind, value))

    def owned_by(self, person_id: str) -> FieldValue:
        """The same value, as personal data of `person_id`."""
        return FieldValue(self.kind, self.value, person_id)

    def erased(self) -> FieldValue:
        """The value once its owner's data was erased: the kind and owner stay, the value is gone."""
        return FieldValue(self.kind, ERASED, self.owner)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in events (`owner` only for personal values, so others are as before)."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        stored: dict[str, Any] = {"kind": self.kind.value, "value": value}
        if self.owner is not None:
            stored["owner"] = self.owner
        return stored

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldValue:
        """Rebuild from the stored form (trusted: it was validated before it was recorded)."""
        value = data["value"]  # an erased multi_enum value is the text ERASED, not a list
        return cls(FieldKind(data["kind"]), tuple(value) if isinstance(value, list) else value, data.get("owner"))

    def options(self) -> tuple[str, ...]:
        """The options an enum or multi_enum value chose (none for other kinds, or once erased)."""
        if isinstance(self.value, tuple):
            return self.value
        chosen = isinstance(self.value, str) and self.kind is FieldKind.ENUM and self.value != ERASED
        return (str(self.value),) if chosen else ()


def _check_field_value(kind: FieldKind, value: Any) -> FieldData:
    if kind is FieldKind.BOOLEAN and isinstance(value, bool):
        return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    # Magnitude first: math.isfinite() of an int beyond a double's range raises instead of answering.
    if kind is FieldKind.NUMBER and is_number and abs(value) <= NUMBER_MAX and math.isfinite(value):
        number: int | float = value
        return number
    if kind is FieldKind.TEXT and isinstance(value, str) and len(value) <= FIELD_TEXT_MAX:
        return _storable(value, "a text custom field value")
    if kind is FieldKind.ENUM and isinstance(value, str):
        return slug(value, "enum option")
    if kind is FieldKind.MULTI_ENUM and isinstance(value, list | tuple) and len(value) <= OPTIONS_MAX:
        chosen = tuple(slug(option, "multi_enum option") for option in value if isinstance(option, str))
        if len(chosen) == len(value) and len(set(chosen)) == len(chosen):
            return tuple(sorted(chosen))
    if kind is FieldKind.DATE and isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a date: refused below
            return date.fromisoformat(value).isoformat()
    expected = {
        FieldKind.TEXT: f"a string of at most {FIELD_TEXT_MAX} characters",
        FieldKind.NUMBER: f"a finite number of magnitude at most {NUMBER_MAX}",
        FieldKind.DATE: "an ISO-8601 date such as 2026-11-23",
        FieldKind.ENUM: "an option slug",
        FieldKind.MULTI_ENUM: f"a list of at most {OPTIONS_MAX} distinct option slugs",
        FieldKind.BOOLEAN: "true or false",
    }[kind]
    shown = f"{value!r}"[:80]  # a 10,000-digit number is not worth echoing whole
    msg = f"a {kind.value} custom field value must be {expected} (got {shown})"
    raise InvalidValueError(msg)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of a file attached to a comment; the file itself is stored elsewhere.

    `sha256` is the hex digest of the file's content, so the event (and with it the audit hash
    chain) vouches for the bytes. `blob` is the file store's name for the stored file
    (infrastructure/attachments). Both are empty for metadata recorded without a file, as every
    attachment was before files were stored.
    """

    name: str
    size: int
    content_type: str
    sha256: str = ""
    blob: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 255:
            msg = f"attachment name must be 1-255 characters (got {self.name!r})"
            raise InvalidValueError(msg)
        _storable(self.name, "attachment name")
        _storable(self.content_type, "attachment content type")
        if not 0 <= self.size <= ATTACHMENT_SIZE_MAX:
            msg = f"attachment size must be 0-{ATTACHMENT_SIZE_MAX} bytes (1 GiB) (got {self.size})"
            raise InvalidValueError(msg)
        if self.sha256 and not _SHA256.fullmatch(self.sha256):
            msg = f"attachment sha256 must be 64 lowercase hex digits (got {self.sha256!r})"
            raise InvalidValueError(msg)
        if len(self.blob) > BLOB_NAME_MAX or (self.blob and not _BLOB_NAME.fullmatch(self.blob)):
            msg = f"attachment blob must be a file store name of at most {BLOB_NAME_MAX} characters (got {self.blob!r})"
            raise InvalidValueError(msg)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in events (`sha256` and `blob` only when set, so others are as before)."""
        stored: dict[str, Any] = {"name": self.name, "size": self.size, "content_type": self.content_type}
        if self.sha256:
            stored["sha256"] = self.sha256
        if self.blob:
            stored["blob"] = self.blob
        return stored

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attachment:
        """Rebuild from the stored form; older events hold neither `sha256` nor `blob`."""
        return cls(
            name=data["name"],
            size=data["size"],
            content_type=data["content_type"],
            sha256=data.get("sha256", ""),
            blob=data.get("blob", ""),
        )


@dataclass(frozen=True, slots=True)
class Rating:
    """Customer satisfaction: good/bad (1/0) or 1-5."""

    scale: str
    score: int

    @classmethod
    def parse(cls, value: str | int) -> Rating:
        """`good`, `bad`, or a whole number from 1 to 5."""
        if value in ("good", "bad"):
            return cls("good_bad", 1 if value == "good" else 0)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
            return cls("one_to_five", value)
        msg = f"a rating is good, bad, or a whole number from 1 to 5 (got {value!r})"
        raise InvalidValueError(msg)
