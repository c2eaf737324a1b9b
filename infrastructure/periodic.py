"""Background work done every so often in a daemon thread: the SLA watcher, timed rules, schedules.

Each round is the subclass's (`_round`); a round that fails is logged and tried again at the next
interval, so the process outlives any one pass. `stop()` ends the thread after the piece of work
in hand (the subclasses look at `_stopping` between pieces, each one save).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Periodic(ABC):
    """A round now, then one every `interval_seconds`, in a daemon thread until `stop()`."""

    #: The thread's name, and what the log calls the work.
    thread_name: ClassVar[str]
    work_name: ClassVar[str]

    def __init__(self, interval_seconds: float, log: logging.Logger) -> None:
        self.interval_seconds = interval_seconds
        self._log = log
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _round(self) -> Any:
        """One round over the work; what it did."""

    @abstractmethod
    def _worth_telling(self, result: Any) -> bool:
        """Whether a round's result is worth a line in the log (something was recorded, or failed)."""

    def start(self) -> None:
        """Make a round now, then every `interval_seconds`, in a daemon thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the piece of work in hand (each is one save: stored whole or not at all)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                result = self._round()
            except Exception:
                self._log.exception("%s failed; trying again in %s s", self.work_name, self.interval_seconds)
            else:
                if self._worth_telling(result):
                    self._log.info("%s: %s", self.work_name, result)
            self._stopping.wait(self.interval_seconds)
