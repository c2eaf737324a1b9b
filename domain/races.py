"""Commands that lose a race are carried out again, so that no caller is told to retry what the server can.

Two commands on one record (a ticket, a rule book, a directory) may read the same version and
both try to save the next: the event store takes one save and refuses the other, which stores
nothing (`CommandPipeline.save` tells such a refusal by the record's stored version and raises
`RaceLostError`). A command marked `@retried` is then carried out again from the start: it reads
the record as the winner left it and is checked against that, so a move that is illegal by now
is refused for the right reason (an illegal transition, a ticket claimed by the winner).

A caller that named the version it expects (`expected_version`, an HTTP `If-Match`) asked not to
act on any other: it gets `VersionMismatchError` (412) at once. Attempts wait a jittered,
growing moment (at most the application's `race_seconds` in all, `RETRY_SECONDS` by default),
so writers racing on one busy ticket take turns. Only the outermost command retries; the
commands it calls do not (each would multiply the other).

How each outermost command ended (stored, rejected, conflict, failed) and each race it lost on the way are
told to the application's `command_outcomes`, which the operators' counters listen to
(infrastructure/telemetry.py); by default nobody listens.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from domain.errors import DomainError, RaceLostError, VersionMismatchError

P = ParamSpec("P")
T = TypeVar("T")

#: How long a command keeps trying before the caller is told to retry (409 `concurrent-update`), by default.
RETRY_SECONDS = 10.0
#: The first wait, doubled after each lost race up to `LONGEST_WAIT_SECONDS` (each wait a random part of it).
FIRST_WAIT_SECONDS = 0.002
LONGEST_WAIT_SECONDS = 0.05

#: How a command ended: its save stored (or it had nothing to store), the domain refused it, it kept losing
#: races until its time was up, or it failed otherwise (the database away, say).
STORED, REJECTED, CONFLICT, FAILED = "stored", "rejected", "conflict", "failed"

_retrying: ContextVar[bool] = ContextVar("retrying", default=False)


class CommandOutcomes(Protocol):
    """Listens to how commands end, by command name."""

    def ended(self, command: str, outcome: str) -> None:
        """A command ended: `outcome` is STORED, REJECTED, CONFLICT or FAILED."""

    def race_lost(self, command: str) -> None:
        """A command's save lost a race, and the command is carried out again."""


class Unheard:
    """Nobody listens to how commands end."""

    def ended(self, command: str, outcome: str) -> None:
        """Not told anyone."""

    def race_lost(self, command: str) -> None:
        """Not told anyone."""


class Retrying(Protocol):
    """An application whose commands are carried out again: how long each keeps trying, and who is told."""

    race_seconds: float
    command_outcomes: CommandOutcomes


A = TypeVar("A", bound=Retrying)


def retried(command: Callable[Concatenate[A, P], T]) -> Callable[Concatenate[A, P], T]:
    """Carry `command` out again, on the records as they now are, when its save lost a race (see the module)."""

    @wraps(command)
    def carried_out(app: A, /, *args: P.args, **kwargs: P.kwargs) -> T:
        expected: Any = kwargs.get("expected_version")
        if _retrying.get():
            return command(app, *args, **kwargs)
        token = _retrying.set(True)
        told, name = app.command_outcomes, command.__name__
        try:
            done = _until_saved(lambda: command(app, *args, **kwargs), expected, app.race_seconds, told, name)
        except RaceLostError:
            told.ended(name, CONFLICT)
            raise
        except DomainError:
            told.ended(name, REJECTED)
            raise
        except Exception:
            told.ended(name, FAILED)
            raise
        finally:
            _retrying.reset(token)
        told.ended(name, STORED)
        return done

    return carried_out


def _until_saved(attempt: Callable[[], T], expected: Any, seconds: float, told: CommandOutcomes, name: str) -> T:
    deadline = time.monotonic() + seconds
    wait = FIRST_WAIT_SECONDS
    while True:
        try:
            return attempt()
        except RaceLostError as lost:
            if expected is not None:
                raise VersionMismatchError(expected, lost.version) from lost
            if time.monotonic() + wait > deadline:
                raise
            told.race_lost(name)
        time.sleep(random.uniform(0, wait))  # noqa: S311  # spreading writers apart, not a secret
        wait = min(wait * 2, LONGEST_WAIT_SECONDS)
