"""The event mapper that stores personal fields encrypted with their owner's data key.

Which fields are personal, and whose they are:
- `Ticket.Opened`: title, description, requester name and e-mail — the requester's;
- `Ticket.CommentAdded`: the body and the attachment names — the author's;
- `Ticket.Rated`: the rating comment — the requester's (who alone rates);
- `Ticket.TitleChanged`, `Ticket.DescriptionChanged`: the old and the new text — the requester's
  (named in the event);
- `Ticket.Merged`: each copied comment's body and attachment names — its author's, as in the
  comment copied; `Ticket.Merged` and `Ticket.MergedInto`: the reason — the merging agent's;
- `Ticket.LocationSet`: the old and the new place (point and address) — the requester's;
- `Ticket.CheckedIn`, `Ticket.CheckedOut`: the position — the agent's who checked in or out;
- `Ticket.HandedOver`: each message of a chat bot's transcript — its author's (the customer's
  under the requester's key, the bot's under the key of the author `bot`);
- a custom field whose definition marks it personal (its stored form names an `owner`, the
  ticket's requester), in `Ticket.Opened` and `Ticket.CustomFieldChanged`: the value, the owner's;
- `Ticket.Snapshot`: the same fields in the ticket's state, each under its owner's key;
- `InboundMessage.Received`: the sanitised HTML of an e-mail taken in — its sender's (the actor);
- `Directory.AgentDefined`: the agent's e-mail address — the agent's;
- `Directory.AgentLocated`: where the agent is, or their home base — the agent's;
- `SavedView.Created`: every filter value but the closed vocabularies (status, priority, sla,
  unassigned) — the saver's; a filter that names a person by id (requester_id, assignee) is
  sealed twice, first with the named person's key, so erasing either of them erases it.

Each such value is stored as `{"__pd__": "<key ref>:<base64 nonce+ciphertext>"}` (AES-256-GCM,
the ticket id and field path as associated data, so a ciphertext cannot be moved elsewhere).
Reading decrypts it; once the key is destroyed it reads as `[erased]`. The stored bytes never
change, so the audit hash chain still verifies after an erasure.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Collection, Sequence
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent

from domain.directory.directory import Directory
from domain.mail.inbound import InboundMessage
from domain.tickets.saved_views import NAMING_FILTERS, PLAIN_FILTERS, SavedView
from domain.tickets.ticket import Ticket
from domain.values import ERASED
from infrastructure.privacy.datakeys import DataKeys

ENVELOPE = "__pd__"
NONCE_BYTES = 12
NOT_OPENED = "[not decrypted]"  # what a personal field reads as where the reader did not ask for it
REQUESTER_FIELDS = ("title", "description", "requester_name", "requester_email")

Seal = Callable[[str, str, Any], Any]  # (owner, field path, value) -> envelope, or the value if not personal
#: The events that hold personal fields (which, and whose: the module docstring).
PERSONAL_EVENTS = (
    Ticket.Opened
    | Ticket.CommentAdded
    | Ticket.Rated
    | Ticket.CustomFieldChanged
    | Ticket.TitleChanged
    | Ticket.DescriptionChanged
    | Ticket.Merged
    | Ticket.MergedInto
    | Ticket.HandedOver
    | Ticket.LocationSet
    | Ticket.CheckedIn
    | Ticket.CheckedOut
    | Directory.AgentLocated
    | SavedView.Created
    | InboundMessage.Received
    | Directory.AgentDefined
)
#: Texts of an event that are one person's, by event class: (the field naming the owner, the texts).
_OWNED_TEXTS: dict[type, tuple[str, tuple[str, ...]]] = {
    Ticket.Rated: ("actor_id", ("comment",)),  # the requester, who alone rates
    Ticket.TitleChanged: ("requester_id", ("old_title", "new_title")),
    Ticket.DescriptionChanged: ("requester_id", ("old_description", "new_description")),
    Ticket.MergedInto: ("actor_id", ("reason",)),  # the merging agent
    Ticket.Merged: ("actor_id", ("reason",)),
    InboundMessage.Received: ("actor_id", ("html",)),  # the sender, as whom the message was taken in
    Directory.AgentDefined: ("agent", ("email",)),  # the agent defined, not the admin defining them
    Ticket.LocationSet: ("requester_id", ("old_location", "new_location")),
    Ticket.CheckedIn: ("actor_id", ("position",)),
    Ticket.CheckedOut: ("actor_id", ("position",)),
    Directory.AgentLocated: ("agent", ("location",)),  # the agent located, not whoever reported it
}


class PersonalDataMapper(Mapper[UUID]):
    """eventsourcing's mapper, plus per-person encryption of personal fields (see the module docstring).

    The data-key store is attached after construction (`use_keys`) by the composition root;
    until then events are stored as they are.
    """

    keys: DataKeys | None = None

    def use_keys(self, keys: DataKeys) -> None:
        """Encrypt and decrypt with these data keys from now on."""
        self.keys = keys

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """Store the event with its personal fields encrypted."""
        if self.keys is not None:
            sealed = self._sealed_state(domain_event)
            if sealed is not None:
                copy = object.__new__(type(domain_event))
                object.__setattr__(copy, "__dict__", sealed)
                domain_event = copy
        return super().to_stored_event(domain_event)

    def to_domain_events(self, stored_events: Sequence[StoredEvent], *, opening: Collection[str]) -> list[Any]:
        """Read many events, decrypting only the top-level personal fields named in `opening`.

        For readers that use few personal fields (the read models keep only a ticket's title):
        every other envelope reads as NOT_OPENED, undecrypted, and the keys the opened fields need
        are fetched in one query rather than one per key.
        """
        events = [super(PersonalDataMapper, self).to_domain_event(e) for e in stored_events]
        keys = self.keys
        if keys is None:
            return events
        sealed = [(e, s) for e, s in zip(events, stored_events, strict=True) if ENVELOPE.encode() in s.state]
        opened = [value for event, _ in sealed for name, value in vars(event).items() if name in opening]
        keys.prefetch({ref for value in opened for ref in _refs(value)})
        for event, stored in sealed:
            ticket_id = str(stored.originator_id)
            state = vars(event)  # a new event of our own: its fields can be replaced in place
            for name, value in state.items():
                if isinstance(value, dict | list):
                    state[name] = self._open(value, ticket_id, name) if name in opening else _not_opened(value)
        return events

    def to_whole_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[Any]:
        """Read many events whole, as `to_domain_event` does, with the keys they need fetched in one query.

        For readers of many events that show every field (the audit export), so a page of events
        costs one key lookup rather than one per person.
        """
        events = [super(PersonalDataMapper, self).to_domain_event(e) for e in stored_events]
        keys = self.keys
        if keys is None:
            return events
        sealed = [(e, s) for e, s in zip(events, stored_events, strict=True) if ENVELOPE.encode() in s.state]
        keys.prefetch({ref for event, _ in sealed for ref in _refs(vars(event))})
        for event, stored in sealed:
            object.__setattr__(event, "__dict__", self._open(vars(event), str(stored.originator_id), ""))
        return events

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Read the event, decrypting personal fields (or marking them erased)."""
        domain_event = super().to_domain_event(stored_event)
        if self.keys is not None and ENVELOPE.encode() in stored_event.state:
            opened = self._open(vars(domain_event), str(stored_event.originator_id), "")
            object.__setattr__(domain_event, "__dict__", opened)
        return domain_event

    # --- sealing ----------------------------------------------------------------------------------

    def _sealed_state(self, event: Any) -> dict[str, Any] | None:
        state = dict(vars(event))
        tenant = state.get("tenant")
        if isinstance(event, Ticket.Snapshot):
            state["state"] = self._sealed_ticket_state(dict(state["state"]), str(event.originator_id))
            return state
        if not tenant or not isinstance(event, PERSONAL_EVENTS):
            return None  # nothing personal, or stored before encryption (no tenant recorded)
        seal = self._sealer(tenant, str(event.originator_id))
        owner, texts = _OWNED_TEXTS.get(type(event), ("", ()))
        for name in texts:
            state[name] = seal(state[owner], name, state[name])
        if isinstance(event, Ticket.Opened):
            for name in REQUESTER_FIELDS:
                state[name] = seal(state["requester_id"], name, state[name])
            state["custom_fields"] = _sealed_fields(seal, "custom_fields", event.custom_fields)
        elif isinstance(event, Ticket.CustomFieldChanged):
            for name in ("old_value", "new_value"):
                state[name] = _sealed_field(seal, name, state[name])
        elif isinstance(event, SavedView.Created):
            state["filters"] = _sealed_filters(seal, event.actor_id, event.filters)
        elif isinstance(event, Ticket.CommentAdded):
            state["body"] = seal(event.actor_id, "body", event.body)
            state["attachments"] = _sealed_attachments(seal, event.actor_id, "attachments", event.attachments)
        elif isinstance(event, Ticket.Merged | Ticket.HandedOver):
            state["comments"] = _sealed_comments(seal, "comments", event.comments)
        return state

    def _sealed_ticket_state(self, state: dict[str, Any], ticket_id: str) -> dict[str, Any]:
        seal = self._sealer(state["tenant"], ticket_id)
        requester = state["requester_id"]
        for name in REQUESTER_FIELDS:
            state[name] = seal(requester, f"state.{name}", state.get(name))
        state["custom_fields"] = _sealed_fields(seal, "state.custom_fields", state["custom_fields"])
        if state.get("satisfaction"):
            rating = state["satisfaction"]
            state["satisfaction"] = {
                **rating,
                "comment": seal(requester, "state.satisfaction.comment", rating["comment"]),
            }
        state["comments"] = _sealed_comments(seal, "state.comments", state["comments"])
        state["location"] = seal(requester, "state.location", state.get("location"))
        return state

    def _sealer(self, tenant: str, ticket_id: str) -> Seal:
        keys = self.keys
        assert keys is not None  # only called with keys attached

        def seal(owner: str, path: str, value: Any) -> Any:
            if value is None or (isinstance(value, str) and value in ("", ERASED)):
                return value  # nothing personal in an absent or empty value
            key = keys.key_for(tenant, owner)
            nonce = os.urandom(NONCE_BYTES)
            sealed = AESGCM(key.secret).encrypt(nonce, json.dumps(value).encode(), _aad(ticket_id, path))
            return {ENVELOPE: f"{key.ref}:{base64.b64encode(nonce + sealed).decode()}"}

        return seal

    # --- opening ----------------------------------------------------------------------------------

    def _open(self, value: Any, ticket_id: str, path: str) -> Any:
        """Replace every envelope in `value` (nested dicts and lists) by its plaintext or ERASED."""
        if isinstance(value, dict):
            if _is_envelope(value):
                return self._opened_envelope(value[ENVELOPE], ticket_id, path)
            return {
                k: self._open(v, ticket_id, f"{path}.{k}" if path else k) if isinstance(v, dict | list) else v
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [
                self._open(v, ticket_id, f"{path}.{i}") if isinstance(v, dict | list) else v
                for i, v in enumerate(value)
            ]
        return value

    def _opened_envelope(self, envelope: str, ticket_id: str, path: str) -> Any:
        assert self.keys is not None  # only called with keys attached
        ref, _, payload = envelope.partition(":")
        secret = self.keys.secret(ref)
        if secret is None:
            return ERASED
        raw = base64.b64decode(payload)
        try:
            plain = AESGCM(secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(ticket_id, path))
        except InvalidTag:
            return ERASED  # not this key's ciphertext for this place: unreadable, so shown as erased
        opened = json.loads(plain)
        # A value sealed twice (a saved-view filter naming a person) holds a second envelope: open it too.
        return self._opened_envelope(opened[ENVELOPE], ticket_id, path) if _is_envelope(opened) else opened


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ENVELOPE in value


def _not_opened(value: Any) -> Any:
    """`value` with every envelope in it replaced by NOT_OPENED."""
    if _is_envelope(value):
        return NOT_OPENED
    if isinstance(value, dict):
        return {k: _not_opened(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_not_opened(v) if isinstance(v, dict | list) else v for v in value]
    return value


def _refs(value: Any) -> set[str]:
    """The key references of the outermost envelopes in `value` (nested dicts and lists)."""
    if _is_envelope(value):
        return {value[ENVELOPE].partition(":")[0]}
    if isinstance(value, dict):
        return {ref for v in value.values() for ref in _refs(v)}
    if isinstance(value, list):
        return {ref for v in value for ref in _refs(v)}
    return set()


def _sealed_field(seal: Seal, path: str, field: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored custom field with its value sealed under its owner's key, if it has one (a personal field)."""
    if field is None or not field.get("owner"):
        return field
    return {**field, "value": seal(field["owner"], f"{path}.value", field["value"])}


def _sealed_fields(seal: Seal, path: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: _sealed_field(seal, f"{path}.{name}", field) for name, field in fields.items()}


def _sealed_filters(seal: Seal, saver: str, filters: dict[str, Any]) -> dict[str, Any]:
    """A saved view's filters: each value that could name a person sealed with the saver's key (see above)."""
    sealed = {}
    for name, value in filters.items():
        path = f"filters.{name}"
        if name in PLAIN_FILTERS:
            sealed[name] = value
            continue
        # A filter naming a person gets their layer first, inside the saver's.
        inner = seal(value, path, value) if name in NAMING_FILTERS and isinstance(value, str) else value
        sealed[name] = seal(saver, path, inner)
    return sealed


def _sealed_comments(seal: Seal, path: str, comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments in their plain form (a snapshot's, a merge's copies), each body and file name under its author's key."""
    sealed = []
    for index, comment in enumerate(comments):
        at, author = f"{path}.{index}", comment["author_id"]
        files = _sealed_attachments(seal, author, f"{at}.attachments", comment["attachments"])
        sealed.append({**comment, "body": seal(author, f"{at}.body", comment["body"]), "attachments": files})
    return sealed


def _sealed_attachments(seal: Seal, owner: str, path: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "name": seal(owner, f"{path}.{i}.name", f["name"])} for i, f in enumerate(files)]


def _aad(ticket_id: str, path: str) -> bytes:
    return f"{ticket_id}|{path}".encode()
