"""Custom-field definitions of a tenant: each field's kind, and whether its values are personal data.

A field needs no definition: an undefined field takes any kind and is not personal, as before
definitions existed. A definition fixes the field's kind (a value of another kind is refused) and
may mark it `personal`: its values are then personal data of the ticket's requester, stored
encrypted with the requester's data key and erased with them.

All definitions of a tenant live in one aggregate, the tenant's catalogue, so a command reads
every definition it needs in one load and the audit trail shows every change. Each change to a
field records `FieldDefined` with the field's new version (1 for its first definition).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned
from domain.values import FieldKind, FieldValue

_CATALOGUES = uuid.UUID("b3c4d5e6-7f80-4a1b-9c2d-3e4f5a6b7c8d")
DEFINITIONS_MAX = 200


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One custom field as defined: its kind, whether it is personal, and how many times it was defined."""

    name: str
    kind: FieldKind
    personal: bool
    version: int

    def applied(self, value: FieldValue, owner: str) -> FieldValue:
        """`value` checked against this definition, and owned by `owner` if the field is personal."""
        if value.kind is not self.kind:
            msg = f"custom field {self.name!r} is defined as {self.kind.value}, not {value.kind.value}"
            raise InvalidValueError(msg)
        return value.owned_by(owner) if self.personal else FieldValue(value.kind, value.value)


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
        version: int  # the field's version this event makes (1 for its first definition)

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

    def define(self, name: str, *, kind: str, personal: bool) -> None:
        """Define a field or change its definition; an identical definition records nothing."""
        checked_name = values.slug(name, "custom field name")
        checked_kind = values.choice(FieldKind, kind, "custom field kind")
        if not isinstance(personal, bool):
            msg = f"personal must be true or false (got {personal!r})"
            raise InvalidValueError(msg)
        current = self.fields.get(checked_name)
        if current is not None and (current.kind, current.personal) == (checked_kind, personal):
            return
        if current is None and len(self.fields) >= DEFINITIONS_MAX:
            msg = f"a tenant may define at most {DEFINITIONS_MAX} custom fields"
            raise InvalidValueError(msg)
        version = 1 if current is None else current.version + 1
        self._defined(
            name=checked_name,
            kind=checked_kind.value,
            personal=personal,
            version=version,
        )

    @event(FieldDefined)
    def _defined(
        self,
        *,
        name: str,
        kind: str,
        personal: bool,
        version: int,
    ) -> None:
        self.fields[name] = FieldDefinition(name, FieldKind(kind), personal, version)

    def definition(self, name: str) -> FieldDefinition | None:
        """The field's definition, or None if it has none."""
        return self.fields.get(name)

    def applied(self, fields: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """The values checked against their definitions; personal ones owned by `owner` (None clears a field)."""
        return {name: _applied(self.fields.get(name), value, owner) for name, value in fields.items()}


def _applied(definition: FieldDefinition | None, value: FieldValue | None, owner: str) -> FieldValue | None:
    if value is None or definition is None:
        return value  # a clearing, or an undefined field: as it was given
    return definition.applied(value, owner)
