"""How many failed sign-ins an address or an e-mail gets before the sign-in page stops trying.

The same moving-window limiter the API's rate limits use (api/hardening.py), in this process's
memory. Failures count twice: against the client address (one guesser, many accounts) and against
the e-mail address (many guessers, one account). A correct password is still refused while either
is used up, or a guesser could test passwords through the refusal's wording.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class SignInLimit:
    """The failures' allowances of client addresses and e-mail addresses."""

    def __init__(self, limit: str) -> None:
        self._items: list[RateLimitItem] = parse_many(limit) if limit else []
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, address: str, email: str) -> int | None:
        """Seconds until an attempt of `email` from `address` may be made again; None when it may be made now."""
        names = (f"sign-in-addr:{address}", f"sign-in-email:{email.strip().lower()}")
        used_up = [(item, name) for item in self._items for name in names if not self._limiter.test(item, name)]
        if not used_up:
            return None
        resets = (self._limiter.get_window_stats(item, name).reset_time for item, name in used_up)
        return max(1, math.ceil(max(resets) - time.time()))

    def failed(self, address: str, email: str) -> None:
        """Count one failed attempt against both."""
        for item in self._items:
            self._limiter.hit(item, f"sign-in-addr:{address}")
            self._limiter.hit(item, f"sign-in-email:{email.strip().lower()}")
