"""Custom-field definitions of a tenant: each field's kind, its options, and whether its values are personal data.

A field needs no definition: an undefined field takes any kind and is not personal, as before
definitions existed. A definition fixes the field's kind (a value of another kind is refused); an
`enum` or `multi_enum` definition names its options, the values it allows (definitions recorded
before options existed name none: any option is allowed, as then). A definition may mark a field
`personal`: its values are then personal data of the ticket's requester, stored encrypted with the
requester's data key and erased with them.

All definitions of a tenant live in one aggregate, the tenant's catalogue, so a command reads
every definition it needs in one load and the audit trail shows every change. Each change to a
field records `FieldDefined` with the field's new version (1 for its first definition).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned
from domain.values import OPTIONS_MAX, FieldKind, FieldValue

_CATALOGUES = uuid.UUID("b3c4d5e6-7f80-4a1b-9c2d-3e4f5a6b7c8d")
DEFINITIONS_MAX = 200


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One custom field as defined: its kind, its options, whether it is personal, how many times it was defined.

    `options` are the values an enum or multi_enum field allows, in the order defined (None: any
    option, for the kinds that have none and for definitions recorded before options existed).
    """

    name: str
    kind: FieldKind
    personal: bool
    version: int
    options: tuple[str, ...] | None = None

    def applied(self, value: FieldValue, owner: str) -> FieldValue:
        """`value` checked against this definition, and owned by `owner` if the field is personal."""
        if value.kind is not self.kind:
            msg = f"custom field {self.name!r} is defined as {self.kind.value}, not {value.kind.value}"
            raise InvalidValueError(msg)
        self.check_options(value.options())
        return value.owned_by(owner) if self.personal else FieldValue(value.kind, value.value)

    def check_options(self, chosen: tuple[str, ...]) -> None:
        """Refuse options this definition does not allow, naming the ones it does."""
        outside = [option for option in chosen if self.options is not None and option not in self.options]
        if outside:
            allowed = ", ".join(self.options or ())
            msg = f"custom field {self.name!r} takes only its options: {allowed} (got {', '.join(outside)})"
            raise InvalidValueError(msg)


class FieldCatalogue(TenantOwned):
    """A tenant's custom-field definitions (one catalogue per tenant; its id follows from the tenant)."""

    class Event(TenantOwned.Event):
        """Base of catalogue events: whose catalogue, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first definition is about to be recorded."""

    class FieldDefined(Event):
        name: str
        kind: str
        personal: bool
        options: list[str] | None  # an enum or multi_enum field's allowed values, in order
        version: int  # the field's version this event makes (1 for its first definition)

        # Version 3 added the options; definitions recorded before name none (any option, as then).
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Definitions recorded before options existed allow any option."""
            state["options"] = None

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's catalogue."""
        return uuid.uuid5(_CATALOGUES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> FieldCatalogue:
        """A new, empty catalogue for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(
        self,
        *,
        tenant: str,
    ) -> None:
        self.tenant = tenant
        self.fields: dict[str, FieldDefinition] = {}

    def define(self, name: str, *, kind: str, personal: bool, options: Sequence[str] | None = None) -> None:
        """Define a field or change its definition; an identical definition records nothing.

        An enum or multi_enum field names its options (1 to OPTIONS_MAX distinct slugs); a field of
        another kind names none.
        """
        checked_name = values.slug(name, "custom field name")
        checked_kind = values.choice(FieldKind, kind, "custom field kind")
        if not isinstance(personal, bool):
            msg = f"personal must be true or false (got {personal!r})"
            raise InvalidValueError(msg)
        checked_options = _options(checked_kind, options)
        current = self.fields.get(checked_name)
        if current is not None and (current.kind, current.personal, current.options) == (
            checked_kind,
            personal,
            checked_options,
        ):
            return
        if current is None and len(self.fields) >= DEFINITIONS_MAX:
            msg = f"a tenant may define at most {DEFINITIONS_MAX} custom fields"
            raise InvalidValueError(msg)
        version = 1 if current is None else current.version + 1
        self._defined(
            name=checked_name,
            kind=checked_kind.value,
            personal=personal,
            options=None if checked_options is None else list(checked_options),
            version=version,
        )

    @event(FieldDefined)
    def _defined(
        self,
        *,
        name: str,
        kind: str,
        personal: bool,
        options: list[str] | None,
        version: int,
    ) -> None:
        allowed = None if options is None else tuple(options)
        self.fields[name] = FieldDefinition(name, FieldKind(kind), personal, version, allowed)

    def definition(self, name: str) -> FieldDefinition | None:
        """The field's definition, or None if it has none."""
        return self.fields.get(name)

    def applied(self, fields: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """The values checked against their definitions; personal ones owned by `owner` (None clears a field)."""
        return {name: _applied(self.fields.get(name), value, owner) for name, value in fields.items()}


def _options(kind: FieldKind, options: Sequence[str] | None) -> tuple[str, ...] | None:
    """A definition's options, checked: required for enum and multi_enum, refused for other kinds."""
    if not kind.has_options:
        if options is not None:
            msg = f"only enum and multi_enum fields name options (a {kind.value} field takes none)"
            raise InvalidValueError(msg)
        return None
    listed = isinstance(options, Sequence) and not isinstance(options, str)
    if (
        options is None
        or not listed
        or not 1 <= len(options) <= OPTIONS_MAX
        or not all(isinstance(o, str) for o in options)
    ):
        msg = f"a {kind.value} field names its options: a list of 1-{OPTIONS_MAX} distinct slugs"
        raise InvalidValueError(msg)
    checked = tuple(values.slug(option, "an option") for option in options)
    if len(set(checked)) != len(checked):
        msg = "each option is listed once"
        raise InvalidValueError(msg)
    return checked


def _applied(definition: FieldDefinition | None, value: FieldValue | None, owner: str) -> FieldValue | None:
    if value is None or definition is None:
        return value  # a clearing, or an undefined field: as it was given
    return definition.applied(value, owner)
