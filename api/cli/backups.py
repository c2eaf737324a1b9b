"""`ledgerdesk backup FILE` and `ledgerdesk restore FILE` (docs/operations.md: backup, restore, migration)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import fail, load_settings, services_from
from api.cli.output import counted, progress
from infrastructure.audit.log import AuditLog
from infrastructure.backup.copy import BackupUnavailableError, Restored, restore_backup, take_backup
from infrastructure.backup.file_format import BackupDamagedError
from infrastructure.backup.stores import TargetNotEmptyError
from infrastructure.composition import Services
from infrastructure.privacy.register import ErasureRegister, RegisterError
from infrastructure.readmodels.rebuild import rebuild as rebuild_read_models


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (gzip-compressed JSON lines).")],
) -> None:
    """Back up the event log, its chain, the data keys, API keys and users from one snapshot, while the desk runs."""
    partial = file.with_name(file.name + ".partial")  # the name is FILE's only once every byte is written
    with services_from(load_settings()) as services, progress("backing up", "rows") as (bar, task):
        try:
            with partial.open("wb") as out:
                manifest = take_backup(services, out, lambda at, total: bar.update(task, completed=at, total=total))
                out.flush()
                os.fsync(out.fileno())
        except BackupUnavailableError as error:
            partial.unlink(missing_ok=True)
            bar.stop()
            fail(str(error))
        except OSError as error:  # the folder is missing, the disk full: say so, leave no partial file
            partial.unlink(missing_ok=True)
            bar.stop()
            fail(f"cannot write {file}: {error.strerror or error}")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(file)
    events = manifest.sections["events"].rows
    typer.echo(
        f"ledgerdesk: backed up {counted(events, 'event')} up to position {manifest.head_position}, "
        f"{counted(manifest.sections['data_keys'].rows, 'data key')}, to {file}"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A file `ledgerdesk backup` wrote.", exists=True, dir_okay=False)],
) -> None:
    """Restore a backup into an empty database, then rebuild the read models and verify the hash chain."""
    settings = load_settings()
    register = ErasureRegister(Path(settings.erasure_register)) if settings.erasure_register else None
    if register is None:
        typer.echo(
            "ledgerdesk: warning: LEDGERDESK_ERASURE_REGISTER is not set; erasures made after this backup "
            "was taken are not applied again",
            err=True,
        )
    with services_from(settings) as services:
        restored = _restore(services, file, register)
        with progress("rebuilding tickets") as (bar, task):
            rebuilt = rebuild_read_models(
                services.desk, services.read_models, lambda at, head: bar.update(task, completed=at, total=head)
            )
        _verify(services, restored)
    manifest = restored.manifest
    typer.echo(
        f"ledgerdesk: restored {counted(manifest.sections['events'].rows, 'event')} from {restored.source or 'a'} "
        f"backup up to position {manifest.head_position}; the chain verifies to {manifest.head_chain_hash or '-'}; "
        f"read models rebuilt as generation {rebuilt.new_generation}; "
        f"{counted(restored.keys_destroyed_again, 'data key')} of erased people destroyed again"
    )


def _restore(services: Services, file: Path, register: ErasureRegister | None) -> Restored:
    with progress("restoring", "rows") as (bar, task), file.open("rb") as source:
        try:
            return restore_backup(
                services, source, register, lambda at, total: bar.update(task, completed=at, total=total)
            )
        except (BackupDamagedError, TargetNotEmptyError, RegisterError, BackupUnavailableError) as error:
            bar.stop()
            fail(f"{error}; nothing was restored" if isinstance(error, BackupDamagedError) else str(error))


def _verify(services: Services, restored: Restored) -> None:
    with progress("verifying") as (bar, task):
        verification = AuditLog(services.desk).verify(
            progress=lambda at, head: bar.update(task, completed=at, total=head)
        )
    manifest = restored.manifest
    if not verification.ok:
        assert verification.finding is not None
        finding = verification.finding
        fail(f"the restored log does not verify: {finding.kind} at position {finding.position}: {finding.detail}")
    expected = manifest.head_chain_hash or bytes(32).hex()
    if (verification.head_position, verification.head_hash) != (manifest.head_position, expected):
        fail(
            f"the restored chain ends at position {verification.head_position} ({verification.head_hash}), "
            f"the backup's at {manifest.head_position} ({expected})"
        )
