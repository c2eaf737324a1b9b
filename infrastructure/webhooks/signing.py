"""Signing deliveries as the Standard Webhooks specification says, with its reference library.

Headers: `webhook-id` (the delivery's id, the same on every retry, so receivers de-duplicate),
`webhook-timestamp` (seconds since the epoch, of this attempt) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret in use, separated by spaces (the
specification's way to rotate a secret: receivers accept any one that verifies).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from math import floor

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  # the specification's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secrets_in_use: Sequence[str], msg_id: str, at: datetime, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,...` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets_in_use)


def signed_headers(secrets_in_use: Sequence[str], msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """Every header of one attempt: the three of the specification, and the body's type."""
    moment = at.astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": "ledgerdesk-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": signature(secrets_in_use, msg_id, moment, body),
    }
