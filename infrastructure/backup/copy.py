"""Take a backup of a desk's database, and restore one into an empty database.

`take_backup` reads one snapshot (infrastructure/backup/stores.py) and streams it into the file
format (file_format.py) a batch at a time. `restore_backup` streams a file into one transaction,
destroying again on the way the keys of everyone in the erasure register, and commits only once
the manifest at the end checked out: a damaged or truncated file leaves the database as it was.
The caller then rebuilds the read models and verifies the chain (api/cli/backups.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from infrastructure.backup.file_format import BackupReader, BackupWriter, Manifest
from infrastructure.backup.sections import DATA_KEYS, SECTIONS
from infrastructure.backup.stores import Tables, restoring, snapshot
from infrastructure.composition import Services
from infrastructure.database import Backend
from infrastructure.privacy.register import ErasureRegister

BATCH = 2000
Progress = Callable[[int, int], None]  # (rows done, rows in all)
_KEY_PERSON = slice(1, 3)  # tenant, person_id in a data-key row
_KEY_SECRET, _KEY_CREATED, _KEY_ERASED = 3, 4, 5


class BackupUnavailableError(Exception):
    """The events are kept where there is nothing to back up (in memory)."""


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore wrote."""

    manifest: Manifest
    source: str
    keys_destroyed_again: int


def tables_of(services: Services) -> Tables:
    """The three tables of the services' database."""
    if services.database.backend is Backend.MEMORY:
        msg = "backup and restore need the events in SQLite or PostgreSQL"
        raise BackupUnavailableError(msg)
    recorder: Any = services.desk.recorder
    schema = recorder.datastore.schema if services.database.backend is Backend.POSTGRES else ""
    return Tables(services.database, schema, recorder.events_table_name)


def take_backup(services: Services, file: IO[bytes], progress: Progress | None = None) -> Manifest:
    """Write a consistent backup of the events, their chain and the data keys to `file`."""
    tables = tables_of(services)
    with snapshot(tables) as seen:
        counts = {section.name: seen.count(section) for section in SECTIONS}
        total, done = sum(counts.values()), 0
        header = {
            "created_at": datetime.now(UTC).isoformat(),
            "source": services.database.backend.value,
            "application": services.desk.name,
            "rows": counts,
        }
        writer = BackupWriter(file, header)
        if progress is not None:
            progress(0, total)
        for section in SECTIONS:
            for written in writer.section(section, counts[section.name], seen.batches(section, BATCH)):
                done += written
                if progress is not None:
                    progress(done, total)
        position, chain_hash = seen.head()
        return writer.finish(position, chain_hash)


def restore_backup(
    services: Services, file: IO[bytes], register: ErasureRegister | None, progress: Progress | None = None
) -> Restored:
    """Write a backup into the services' empty database in one transaction; BackupDamagedError leaves it empty."""
    tables = tables_of(services)
    erased = {} if register is None else register.erased_up_to()
    reader = BackupReader(file)
    destroyed = [0]
    announced = reader.header.get("rows")
    total = sum(announced.values()) if isinstance(announced, dict) else 0
    with restoring(tables) as target:
        done = [0]
        for section, _expected, batches in reader.sections(BATCH):
            counted = _counted(batches, done, total, progress)
            if section is DATA_KEYS:
                counted = _destroying_again(counted, erased, destroyed)
            target.write(section, counted)
        assert reader.manifest is not None  # read, and checked, at the end of `sections`
    return Restored(reader.manifest, str(reader.header.get("source", "")), destroyed[0])


def _counted(
    batches: Iterable[list[list[Any]]], done: list[int], total: int, progress: Progress | None
) -> Iterator[list[list[Any]]]:
    for batch in batches:
        yield batch
        done[0] += len(batch)
        if progress is not None:
            progress(done[0], max(total, done[0]))


def _destroying_again(
    batches: Iterable[list[list[Any]]], erased: dict[tuple[str, str], datetime], destroyed: list[int]
) -> Iterator[list[list[Any]]]:
    """Key rows with the secret of every registered person's key made before their erasure taken out."""
    for batch in batches:
        for row in batch:
            moment = erased.get(tuple(row[_KEY_PERSON]))
            if moment is not None and row[_KEY_SECRET] is not None and _created(row) <= moment:
                row[_KEY_SECRET] = None
                row[_KEY_ERASED] = moment.isoformat()
                destroyed[0] += 1
        yield batch


def _created(row: list[Any]) -> datetime:
    created = datetime.fromisoformat(row[_KEY_CREATED])
    return created if created.tzinfo else created.replace(tzinfo=UTC)
