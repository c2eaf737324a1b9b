"""Signed checkpoints: the chain's head (position and digest), signed with Ed25519.

Stored outside the database, a checkpoint proves the log up to its position is unchanged even
if someone rewrote every event and every hash in the database: the rewritten log no longer
hashes to the signed digest.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class CheckpointError(Exception):
    """A checkpoint or key is malformed, or its signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the chain at one moment, signed."""

    application: str
    position: int
    chain_hash: str  # hex
    created_at: str  # ISO-8601
    public_key: str  # base64 of the raw Ed25519 public key
    signature: str = ""  # base64 of the Ed25519 signature over the other fields

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers."""
        fields = asdict(self)
        fields.pop("signature")
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        """The checkpoint as a JSON document."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint document."""
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError) as error:
            msg = f"not a checkpoint document: {error}"
            raise CheckpointError(msg) from None


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """A signing key from base64 of its 32 raw bytes (what `ledgerdesk audit keygen` prints)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError:
        msg = "the signing key must be base64 of a 32-byte Ed25519 private key (see `ledgerdesk audit keygen`)"
        raise CheckpointError(msg) from None


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A verifying key from base64 of its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError:
        msg = "the public key must be base64 of a 32-byte Ed25519 public key"
        raise CheckpointError(msg) from None


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Base64 of the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(application: str, position: int, chain_hash: bytes, now: datetime, key: Ed25519PrivateKey) -> Checkpoint:
    """A signed checkpoint of the given chain head."""
    unsigned = Checkpoint(application, position, chain_hash.hex(), now.isoformat(), public_text(key))
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode()
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


class Signed(Protocol):
    """A signed document: the bytes the signature covers, the signer's public key, the signature."""

    @property
    def public_key(self) -> str:
        """Base64 of the signer's raw public key."""
        ...

    @property
    def signature(self) -> str:
        """Base64 of the signature."""
        ...

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers."""
        ...


def check_signed(document: Signed, trusted: Ed25519PublicKey, what: str) -> None:
    """Raise CheckpointError unless `trusted` signed `document` (`what` names it in the message)."""
    if document.public_key != public_text(trusted):
        msg = f"the {what} was signed with another key than the trusted one"
        raise CheckpointError(msg)
    try:
        trusted.verify(base64.b64decode(document.signature), document.signed_bytes())
    except (InvalidSignature, ValueError):
        msg = f"the {what}'s signature does not verify: it was altered or forged"
        raise CheckpointError(msg) from None


def check_signature(checkpoint: Checkpoint, trusted: Ed25519PublicKey) -> None:
    """Raise CheckpointError unless `trusted` signed the checkpoint."""
    check_signed(checkpoint, trusted, "checkpoint")
