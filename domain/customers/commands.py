"""Customer-profile commands: set a customer's whole profile, set many at once, remove one; read one.

Each is an ordinary command on the profile aggregate (domain/customers/profile.py), so every change
names who made it; who may take which is the access policy's (domain/access/policy.py). Setting many
profiles (an import) checks them all before anything is recorded and saves them in one transaction:
either every profile is recorded or none is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Unpack

from domain.customers.profile import CustomerProfile, Profile
from domain.errors import NotFoundError
from domain.pipeline import Acting, CommandPipeline


@dataclass(frozen=True, slots=True)
class ProfileReceipt:
    """A customer's profile record as it now is, and the log position of its last new event (None: no change)."""

    record: CustomerProfile
    position: int | None


class CustomerCommands(CommandPipeline):
    """The commands and queries of a tenant's customer profiles."""

    def set_customer_profile(
        self, *, tenant: str, customer_id: str, checked: Profile, **how: Unpack[Acting]
    ) -> ProfileReceipt:
        """Record `checked` (from `domain.customers.profile.profile`) as the customer's whole profile."""
        (record,) = self._with_profiles(tenant, [(customer_id, checked)], how)
        recordings = self.save(record)
        return ProfileReceipt(record, recordings[-1].notification.id if recordings else None)

    def set_customer_profiles(
        self, *, tenant: str, profiles: Sequence[tuple[str, Profile]], **how: Unpack[Acting]
    ) -> int | None:
        """Record many customers' profiles in one transaction; the log position of the last event (None: no change)."""
        records = self._with_profiles(tenant, profiles, how)
        recordings = self.save(*records)
        return recordings[-1].notification.id if recordings else None

    def remove_customer_profile(self, *, tenant: str, customer_id: str, **how: Unpack[Acting]) -> ProfileReceipt:
        """Remove the customer's profile; NotFoundError if there is none."""
        record = self._profile_record(tenant, customer_id)
        with self._acting(tenant=tenant, **how):
            record.remove()
        recordings = self.save(record)
        return ProfileReceipt(record, recordings[-1].notification.id if recordings else None)

    # --- queries -----------------------------------------------------------------------------------

    def customer_profile(self, tenant: str, customer_id: str) -> CustomerProfile:
        """The customer's profile record in `tenant`; NotFoundError if it has no profile (or another tenant's)."""
        return self._profile_record(tenant, customer_id)

    def customer_tier(self, tenant: str, customer_id: str | None) -> str | None:
        """The customer's tier now (None: no customer, no profile or no tier): what rules and policies match on."""
        if customer_id is None:
            return None
        found = self._configured(CustomerProfile, CustomerProfile.create_id(tenant, customer_id))
        return None if found is None or found.profile is None else found.profile.tier

    def _profile_record(self, tenant: str, customer_id: str) -> CustomerProfile:
        found = self._configured(CustomerProfile, CustomerProfile.create_id(tenant, customer_id))
        if found is None or found.tenant != tenant or found.profile is None:
            msg = f"no profile for customer {customer_id!r}"
            raise NotFoundError(msg)
        return found

    def _with_profiles(
        self, tenant: str, profiles: Sequence[tuple[str, Profile]], how: Acting
    ) -> list[CustomerProfile]:
        records: dict[str, CustomerProfile] = {}
        with self._acting(tenant=tenant, **how):
            for customer_id, checked in profiles:
                record = records.get(customer_id) or self._configured(
                    CustomerProfile, CustomerProfile.create_id(tenant, customer_id)
                )
                if record is None:
                    record = CustomerProfile.create(tenant=tenant, customer_id=customer_id, checked=checked)
                else:
                    record.set(checked)
                records[customer_id] = record
        return list(records.values())
