"""When a failed delivery is tried again: exponential backoff with jitter.

The n-th retry waits `base * 2**(n-1)`, at most `cap`, less a random part of up to half of it
("equal jitter"): the wait still grows, while endpoints that failed together (an outage) are not
all retried at the same moment when they come back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """The retry schedule: the first wait, and the longest."""

    base_seconds: float
    cap_seconds: float

    def ceiling(self, tries: int) -> float:
        """The longest wait after the `tries`-th failed attempt (1 for the first)."""
        exponent = min(max(tries, 1) - 1, 62)  # 2**62 seconds is beyond any cap; keeps the float finite
        return min(self.cap_seconds, self.base_seconds * 2.0**exponent)

    def delay(self, tries: int, rng: Callable[[], float] = random.random) -> float:
        """The wait after the `tries`-th failed attempt: between half the ceiling and the ceiling."""
        ceiling = self.ceiling(tries)
        return ceiling / 2 + rng() * ceiling / 2
