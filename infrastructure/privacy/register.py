"""The erasure register: every erasure, appended to a file kept apart from the database and its backups.

A backup taken before a person was erased still holds their live data key. Restoring it must not
bring their data back, so each erasure is first appended here (tenant, person, moment), and
`ledgerdesk restore` destroys again, as it writes them, the keys of every registered person that
were created up to their erasure (a key made afterwards, for what they wrote since, is kept).
The file is JSON lines, appended under an exclusive lock and flushed to disk before the keys are
destroyed, so an erasure that went through is always in it. Keep it out of what backups copy
and at least as durable as they are (docs/privacy.md).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class RegisterError(Exception):
    """The erasure register cannot be read or written."""


@dataclass(frozen=True, slots=True)
class Erased:
    """One erasure on record."""

    tenant: str
    person_id: str
    erased_at: datetime


class ErasureRegister:
    """An append-only file of erasures."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, tenant: str, person_id: str, now: datetime | None = None) -> None:
        """Append an erasure and flush it to disk (before the keys are destroyed)."""
        moment = (now or datetime.now(UTC)).isoformat()
        line = json.dumps({"tenant": tenant, "person_id": person_id, "erased_at": moment}) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # whole lines, from any number of processes
                os.write(descriptor, line.encode())
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as error:
            msg = f"cannot write the erasure register {self.path}: {error.strerror or error}"
            raise RegisterError(msg) from None

    def entries(self) -> Iterator[Erased]:
        """Every erasure on record, oldest first (none while the file does not exist)."""
        try:
            with self.path.open(encoding="utf-8") as file:
                for number, line in enumerate(file, start=1):
                    if line.strip():
                        yield _parse(line, self.path, number)
        except FileNotFoundError:
            return
        except OSError as error:
            msg = f"cannot read the erasure register {self.path}: {error.strerror or error}"
            raise RegisterError(msg) from None

    def erased_up_to(self) -> dict[tuple[str, str], datetime]:
        """Each registered (tenant, person) and the moment of their last erasure."""
        latest: dict[tuple[str, str], datetime] = {}
        for entry in self.entries():
            key = (entry.tenant, entry.person_id)
            latest[key] = max(entry.erased_at, latest.get(key, entry.erased_at))
        return latest


def _parse(line: str, path: Path, number: int) -> Erased:
    try:
        data = json.loads(line)
        return Erased(str(data["tenant"]), str(data["person_id"]), datetime.fromisoformat(data["erased_at"]))
    except (ValueError, KeyError, TypeError):
        msg = f"the erasure register {path} is damaged at line {number}"
        raise RegisterError(msg) from None
