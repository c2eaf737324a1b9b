"""Request and response bodies of customer profiles (docs/customers.md)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from api.plain_text import Identifier, PlainText, Slug
from api.read_schemas import Day
from domain.customers.profile import ATTRIBUTE_TEXT_MAX, ATTRIBUTES_MAX, PURCHASES_MAX, AttributeValue, Profile
from domain.customers.profile import profile as checked_profile

#: How a date attribute is written: text of this shape is read as a date (in the API and in imports alike).
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _not_text(value: object) -> object:
    """Text is never a number here: "0042" stays text (and text too long is refused, not read as a number)."""
    if isinstance(value, str):
        msg = "text is not a whole number"
        raise ValueError(msg)  # pydantic reports a ValueError as a validation error
    return value


#: An attribute as written; a whole number as JSON Schema has it: 40 and 40.0 alike (true and false stay booleans).
AttributeIn = (
    StrictBool
    | Annotated[int, Field(ge=-(10**15), le=10**15), BeforeValidator(_not_text)]
    | Annotated[PlainText, Field(max_length=ATTRIBUTE_TEXT_MAX)]
)


def attribute_value(value: bool | int | str) -> AttributeValue:
    """The typed value of an attribute as written: text of the form YYYY-MM-DD is a date (if it is a real one)."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


class ProfileIn(BaseModel):
    """A customer's whole profile: what is not given is cleared."""

    model_config = ConfigDict(extra="forbid")

    tier: Slug | None = Field(default=None, description="The customer's tier, a slug such as gold or silver.")
    contract: Identifier | None = Field(default=None, description="The id of the customer's contract.")
    contract_until: Day | None = Field(default=None, description="The last day of the contract (needs a contract).")
    purchases: list[Identifier] = Field(
        default_factory=list, max_length=PURCHASES_MAX, description="Ids of the customer's purchases (references)."
    )
    attributes: dict[Slug, AttributeIn] = Field(
        default_factory=dict,
        max_length=ATTRIBUTES_MAX,
        json_schema_extra={"additionalProperties": False},  # keys are slugs (patternProperties), as the domain says
        description="Other facts of the account by name: text, a whole number, true/false, or a date written "
        "YYYY-MM-DD. Business facts only, never personal details (docs/privacy.md).",
    )

    def checked(self) -> Profile:
        """The profile as the domain checks it."""
        return checked_profile(
            tier=self.tier,
            contract=self.contract,
            contract_until=self.contract_until,
            purchases=self.purchases,
            attributes={name: attribute_value(v) for name, v in self.attributes.items()},
        )


class ProfilePublic(BaseModel):
    """A customer's profile as recorded."""

    customer_id: str
    tier: str | None
    contract: str | None
    contract_until: date | None
    purchases: list[str]
    attributes: dict[str, bool | int | str] = Field(description="Dates as YYYY-MM-DD.")
    version: int = Field(description="The profile record's version (each set or removal adds one).")

    @classmethod
    def of(cls, customer_id: str, profile: Profile, version: int) -> ProfilePublic:
        """The answer for a recorded profile."""
        return cls(
            customer_id=customer_id,
            tier=profile.tier,
            contract=profile.contract,
            contract_until=profile.contract_until,
            purchases=list(profile.purchases),
            attributes={n: v.isoformat() if isinstance(v, date) else v for n, v in profile.attributes.items()},
            version=version,
        )
