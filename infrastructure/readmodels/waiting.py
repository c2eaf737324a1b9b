"""Read-your-writes waits that hold no thread, so many requests can wait for a log position at once.

A waiting request is a future on its event loop. One poller thread per process reads the serving
view's position while anyone waits (every `step_seconds`, and at once when the in-process
projection worker says it advanced) and resolves the futures whose position has been reached.
Before, each wait held a thread of the API's pool in a sleep loop: 100 waits from one key left
none for anyone else (issue 13, finding 4). Each caller may also hold only a few waits at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class TooManyWaitsError(Exception):
    """The caller already has as many waits for a log position as it may have at once."""


@dataclass(eq=False, slots=True)
class _Waiter:
    """One request waiting: the position it wants, and the future that its event loop awaits."""

    wanted: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int]


def _resolve(future: asyncio.Future[int], position: int) -> None:
    """Runs on the waiter's loop: a timed-out (cancelled) or already woken future is left alone."""
    if not future.done():
        future.set_result(position)


class PositionWaiter:
    """Asynchronous waits for the read model's position, with one shared poller thread per process."""

    def __init__(self, read_position: Callable[[], int], *, per_caller: int, step_seconds: float) -> None:
        self._read_position = read_position
        self._per_caller = per_caller
        self._step = step_seconds
        self._waiters: set[_Waiter] = set()
        self._callers: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._woken = False
        self._closed = False
        self._thread: threading.Thread | None = None

    async def wait(self, position: int, timeout: float, *, caller: str) -> int | None:
        """Wait, at most `timeout` seconds, for `position`; the position reached, or None on timeout.

        Raises TooManyWaitsError, without waiting, when `caller` already holds its share of waits.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(position, loop, loop.create_future())
        self._enter(waiter, caller)
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            return None
        finally:
            self._leave(waiter, caller)

    def waiting(self) -> int:
        """How many requests of this process are waiting now."""
        with self._changed:
            return len(self._waiters)

    def wake(self) -> None:
        """Read the position at once (the projection worker has applied a batch)."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def close(self) -> None:
        """Stop the poller; waits still pending end at their timeout."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _enter(self, waiter: _Waiter, caller: str) -> None:
        with self._changed:
            if self._callers[caller] >= self._per_caller:
                msg = f"at most {self._per_caller} reads of one API key may wait for a log position at once"
                raise TooManyWaitsError(msg)
            self._callers[caller] += 1
            self._waiters.add(waiter)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._poll, name="ledgerdesk-position-waits", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _leave(self, waiter: _Waiter, caller: str) -> None:
        with self._changed:
            self._waiters.discard(waiter)
            self._callers[caller] -= 1
            if self._callers[caller] <= 0:
                del self._callers[caller]

    def _poll(self) -> None:
        """The poller thread: while anyone waits, read the position and wake those it satisfies."""
        while (waiting := self._next_round()) is not None:
            try:
                position = self._read_position()
            except Exception as error:
                log.warning("could not read the read model's position for waiting reads: %s", type(error).__name__)
            else:
                self._wake_reached(waiting, position)
            with self._changed:
                if not self._woken and not self._closed:
                    # Woken at once by an in-process worker; a worker elsewhere is seen within a step.
                    self._changed.wait(self._step)

    def _next_round(self) -> list[_Waiter] | None:
        """Sleep until someone waits; the waiters to serve, or None once closed."""
        with self._changed:
            while not self._waiters and not self._closed:
                self._changed.wait()
            self._woken = False
            return None if self._closed else list(self._waiters)

    @staticmethod
    def _wake_reached(waiting: list[_Waiter], position: int) -> None:
        for waiter in waiting:
            if waiter.wanted <= position:
                try:
                    waiter.loop.call_soon_threadsafe(_resolve, waiter.future, position)
                except RuntimeError:  # its event loop has closed: nobody awaits it any more
                    continue
