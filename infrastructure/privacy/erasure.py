"""Erasure of a person's personal data (the right to erasure), by destroying their data key.

The steps, in this order, each safe to repeat (running the erasure again finishes a broken one):
1. wait until the read models have seen every event so far, so the list of the person's tickets
   is complete;
2. append the erasure to the erasure register, if one is set (a restore destroys the keys again;
   a register that cannot be written stops the erasure here, with nothing changed); record
   `PersonalDataErased` on each of those tickets (and `PersonErased` on the person's record);
   every process's cached copy of a ticket forgets the data when it catches up;
3. destroy the person's data keys: every stored copy (events, snapshots) becomes unreadable
   and reads as `[erased]`, while the stored bytes, and so the audit hash chain, stay as they were;
4. forget kept idempotent responses of the tenant that name the person (a retry of one is
   answered from the stored, now erased, ticket; docs/api.md);
5. wait (as in step 1) for the read models to apply the erasure: the projection scrubs the rows
   (titles, personal custom fields, saved views' filters) and then reclaims the old row versions
   (VACUUM on PostgreSQL; see `SqlTicketsView.reclaim`); once it is seen, the eraser reclaims
   too, so the answer follows the reclaim. The outcome says whether it was seen in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.actors import Actor
from domain.helpdesk import HelpDesk
from infrastructure.idempotency import IdempotencyStore
from infrastructure.privacy.datakeys import DataKeys
from infrastructure.privacy.register import ErasureRegister
from infrastructure.readmodels.store import ReadModels

READ_MODEL_WAIT_SECONDS = 10.0


class ReadModelsBehindError(Exception):
    """The read models did not catch up in time, so the person's tickets cannot all be found yet."""


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    """What an erasure did."""

    tenant: str
    person_id: str
    tickets: int  # tickets that recorded the erasure (those that still held something of the person)
    keys_destroyed: int
    responses_forgotten: int
    position: int
    read_models_erased: bool  # the read models applied the erasure (rows scrubbed, old versions reclaimed)


@dataclass(frozen=True, slots=True)
class Eraser:
    """Carries out erasures against the application and its stores."""

    desk: HelpDesk
    read_models: ReadModels
    data_keys: DataKeys
    idempotency: IdempotencyStore
    register: ErasureRegister | None = None  # where erasures are kept apart from backups (docs/privacy.md)

    def erase(self, *, tenant: str, person_id: str, by: Actor, via: str) -> ErasureOutcome:
        """Erase the person's personal data in `tenant` (see the module docstring for the steps)."""
        head = self.desk.recorder.max_notification_id() or 0
        if self.read_models.wait_for(head, READ_MODEL_WAIT_SECONDS) < head:
            msg = "the read models are behind the event log; is the projection worker running? try again shortly"
            raise ReadModelsBehindError(msg)
        tickets = self.read_models.people().tickets_of_person(tenant, person_id)
        if self.register is not None:  # on record before anything changes, so a restore can destroy the keys again
            self.register.record(tenant, person_id)
        receipt = self.desk.erase_person(tenant=tenant, person_id=person_id, ticket_ids=tickets, by=by, via=via)
        destroyed = self.data_keys.destroy(tenant, person_id)
        forgotten = self.idempotency.purge_mentioning(tenant, person_id)
        applied = self.read_models.wait_for(receipt.position, READ_MODEL_WAIT_SECONDS) >= receipt.position
        if applied:
            # The projection reclaims right after committing, but a reader can see the commit first:
            # reclaiming here too means the answer comes only after the old row versions are gone.
            self.read_models.active_view().reclaim()
        return ErasureOutcome(
            tenant=tenant,
            person_id=person_id,
            tickets=receipt.tickets,
            keys_destroyed=destroyed,
            responses_forgotten=forgotten,
            position=receipt.position,
            read_models_erased=applied,
        )


def as_dict(outcome: ErasureOutcome) -> dict[str, Any]:
    """The outcome as plain values (for the CLI and the API)."""
    return {
        "tenant": outcome.tenant,
        "person_id": outcome.person_id,
        "tickets": outcome.tickets,
        "keys_destroyed": outcome.keys_destroyed,
        "responses_forgotten": outcome.responses_forgotten,
        "position": outcome.position,
        "read_models_erased": outcome.read_models_erased,
    }
