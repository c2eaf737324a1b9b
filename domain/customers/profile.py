"""A customer's profile in one tenant: tier, contract, purchase references and a few typed attributes.

The profile is recorded whole each time it is set (`ProfileSet`), so its history reads as a list of
complete profiles; removing it (`ProfileRemoved`) leaves the record of what it was, and setting it
again starts a new one on the same aggregate. What it holds are facts about the customer's account
(a tier, a contract id, purchase ids), never personal details (docs/privacy.md): they stay readable
in the log as ids and ticket facts do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned

_PROFILES = uuid.UUID("5b0e7c1d-2f4a-4c6b-8d9e-0a1b2c3d4e5f")
#: Bounds that keep a profile small: it is recorded whole at each change and read beside every ticket.
PURCHASES_MAX = 100
ATTRIBUTES_MAX = 20
ATTRIBUTE_TEXT_MAX = 200
#: An attribute's value: text, a whole number, true/false, or a date.
AttributeValue = str | int | bool | date


@dataclass(frozen=True, slots=True)
class Profile:
    """A checked profile: what `CustomerProfile.set` records."""

    tier: str | None = None
    contract: str | None = None
    contract_until: date | None = None
    purchases: tuple[str, ...] = ()
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """The event's fields: plain JSON values (dates as ISO text, attributes tagged with their kind)."""
        return {
            "tier": self.tier,
            "contract": self.contract,
            "contract_until": None if self.contract_until is None else self.contract_until.isoformat(),
            "purchases": list(self.purchases),
            "attributes": {name: _stored_value(v) for name, v in sorted(self.attributes.items())},
        }

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Profile:
        """The profile an event recorded."""
        until = data["contract_until"]
        return cls(
            tier=data["tier"],
            contract=data["contract"],
            contract_until=None if until is None else date.fromisoformat(until),
            purchases=tuple(data["purchases"]),
            attributes={name: _read_value(v) for name, v in data["attributes"].items()},
        )


def profile(
    *,
    tier: str | None = None,
    contract: str | None = None,
    contract_until: date | None = None,
    purchases: Iterable[str] = (),
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Profile:
    """A profile checked whole, or InvalidValueError naming what is wrong."""
    if contract_until is not None and contract is None:
        msg = "contract_until needs a contract"
        raise InvalidValueError(msg)
    bought = tuple(identifier(p, "purchase reference") for p in purchases)
    if len(bought) > PURCHASES_MAX:
        msg = f"at most {PURCHASES_MAX} purchase references (got {len(bought)})"
        raise InvalidValueError(msg)
    given = dict(attributes or {})
    if len(given) > ATTRIBUTES_MAX:
        msg = f"at most {ATTRIBUTES_MAX} attributes (got {len(given)})"
        raise InvalidValueError(msg)
    return Profile(
        tier=None if tier is None else values.slug(tier, "tier"),
        contract=None if contract is None else identifier(contract, "contract"),
        contract_until=contract_until,
        purchases=tuple(dict.fromkeys(bought)),
        attributes={values.slug(name, "attribute name"): _attribute(name, v) for name, v in given.items()},
    )


class CustomerProfile(TenantOwned):
    """One customer's profile in one tenant (its id follows from both: `create_id`)."""

    class Event(TenantOwned.Event):
        """Base of profile events: whose profile, who changed it, and how."""

    class ProfileCreated(Event, Recorded.Created):
        """The first profile of the customer: the whole of it."""

        customer_id: str
        profile: dict[str, Any]

    class ProfileSet(Event):
        """The customer's whole profile as it now is."""

        profile: dict[str, Any]

    class ProfileRemoved(Event):
        """The customer has no profile any more."""

    @staticmethod
    def create_id(tenant: str, customer_id: str) -> uuid.UUID:
        """The id of the profile of `customer_id` in `tenant`."""
        return uuid.uuid5(_PROFILES, f"{tenant}\x00{customer_id}")

    @classmethod
    def create(cls, *, tenant: str, customer_id: str, checked: Profile) -> CustomerProfile:
        """The customer's first profile."""
        return cls(
            tenant=identifier(tenant, "tenant"),
            customer_id=identifier(customer_id, "customer id"),
            profile=checked.stored(),
        )

    @event(ProfileCreated)
    def __init__(self, *, tenant: str, customer_id: str, profile: dict[str, Any]) -> None:
        self.tenant = tenant
        self.customer_id = customer_id
        self.profile: Profile | None = Profile.from_stored(profile)

    def set(self, checked: Profile) -> None:
        """Record `checked` as the whole profile; the same profile records nothing."""
        if checked != self.profile:
            self._set(profile=checked.stored())

    @event(ProfileSet)
    def _set(self, *, profile: dict[str, Any]) -> None:
        self.profile = Profile.from_stored(profile)

    def remove(self) -> None:
        """Forget the profile; one already removed records nothing."""
        if self.profile is not None:
            self._removed()

    @event(ProfileRemoved)
    def _removed(self) -> None:
        self.profile = None


def _attribute(name: str, value: object) -> AttributeValue:
    if isinstance(value, bool | int | date):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
            msg = f"attribute {name!r} must be a whole number of at most 15 digits"
            raise InvalidValueError(msg)
        return value
    if isinstance(value, str):
        checked = values.text(value, f"attribute {name!r}")
        if len(checked) > ATTRIBUTE_TEXT_MAX:
            msg = f"attribute {name!r} must be at most {ATTRIBUTE_TEXT_MAX} characters (got {len(checked)})"
            raise InvalidValueError(msg)
        return checked
    msg = f"attribute {name!r} must be text, a whole number, true/false or a date"
    raise InvalidValueError(msg)


def _stored_value(value: AttributeValue) -> dict[str, Any]:
    # Tagged, so a date reads back as a date and text that looks like one stays text.
    if isinstance(value, date):
        return {"kind": "date", "value": value.isoformat()}
    return {"kind": "value", "value": value}


def _read_value(stored: Mapping[str, Any]) -> AttributeValue:
    value: AttributeValue = stored["value"]
    return date.fromisoformat(stored["value"]) if stored["kind"] == "date" else value
