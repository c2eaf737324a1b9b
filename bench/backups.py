"""BK1: backup and restore rates on PostgreSQL, against raw COPY of the same tables in the same run.

A log of BENCH_BK1_EVENTS seeded events (bench/seed.py) is backed up with `take_backup` (one
REPEATABLE READ snapshot, server-side cursors, JSON lines, gzip) and restored with
`restore_backup` (one transaction of COPY ... FROM STDIN) into a fresh database; the rebuild of
the read models and the chain's verification that `ledgerdesk restore` runs next are timed apart.
The baselines move the same three tables' rows with nothing but PostgreSQL's own COPY: out with
`COPY ... TO STDOUT` (written plain, and gzip-compressed at the backup's level), and back in with
`COPY ... FROM STDIN` into empty tables of the same shape.
"""

from __future__ import annotations

import gzip
import tempfile
import time
from io import BufferedWriter
from pathlib import Path
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from bench.seed import seed, seeding_settings
from bench.server import settle
from infrastructure.audit.log import AuditLog
from infrastructure.backup.copy import restore_backup, take_backup
from infrastructure.backup.file_format import COMPRESS_LEVEL
from infrastructure.composition import build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.settings import Settings

TABLES = (
    *("helpdesk_events", "helpdesk_events_chain", "ledgerdesk_person_keys"),
    *("ledgerdesk_api_keys", "ledgerdesk_web_users"),
)
RAW_CHUNK = 1 << 20


def bench_backup(source_url: str, target_url: str, *, events: int) -> list[dict[str, Any]]:
    """Seed `events` events into `source_url`, back them up, restore them into `target_url`; rates and ratios."""
    seeding = build_services(seeding_settings(source_url))
    try:
        seed(seeding.desk, events)
    finally:
        seeding.close()
    settle(source_url)
    with tempfile.TemporaryDirectory() as folder:
        backup_file = Path(folder) / "desk.backup"
        backed_up = _time_backup(source_url, backup_file, events)
        raw_out = _time_raw_copy_out(source_url, Path(folder), events, compressed=False)
        raw_out_gzip = _time_raw_copy_out(source_url, Path(folder), events, compressed=True)
        restored = _time_restore(target_url, backup_file, events)
        raw_in = _time_raw_copy_in(target_url, Path(folder), events)
    for name, baseline in (("vs_raw_copy_out", raw_out), ("vs_raw_copy_out_gzip", raw_out_gzip)):
        backed_up[name] = round(backed_up["events_per_s"] / baseline["events_per_s"], 4)
    restored["vs_raw_copy_in"] = round(restored["events_per_s"] / raw_in["events_per_s"], 4)
    return [backed_up, raw_out, raw_out_gzip, restored, raw_in]


def _time_backup(url: str, path: Path, events: int) -> dict[str, Any]:
    services = build_services(Settings(database_url=url, db_pool_max=3, pool_size=1))
    try:
        started = time.perf_counter()
        with path.open("wb") as file:
            manifest = take_backup(services, file)
        seconds = time.perf_counter() - started
    finally:
        services.close()
    assert manifest.sections["events"].rows == events
    return _rates("bk1_backup", events, seconds, bytes_written=path.stat().st_size)


def _time_raw_copy_out(url: str, folder: Path, events: int, *, compressed: bool) -> dict[str, Any]:
    """COPY each table TO STDOUT into a file of its own (gzip-compressed at the backup's level, or plain)."""
    started = time.perf_counter()
    size = 0
    with psycopg.connect(url) as conn:
        for table in TABLES:
            path = folder / (f"{table}.gz" if compressed else table)
            statement = SQL("COPY {} TO STDOUT").format(Identifier("public", table))
            with _opened(path, compressed=compressed) as out, conn.cursor().copy(statement) as copy:
                for chunk in copy:
                    out.write(chunk)
            size += path.stat().st_size
    seconds = time.perf_counter() - started
    name = "bk1_raw_copy_out_gzip" if compressed else "bk1_raw_copy_out"
    return _rates(name, events, seconds, bytes_written=size)


def _opened(path: Path, *, compressed: bool) -> gzip.GzipFile | BufferedWriter:
    return gzip.open(path, "wb", COMPRESS_LEVEL) if compressed else path.open("wb")


def _time_restore(url: str, path: Path, events: int) -> dict[str, Any]:
    services = build_services(Settings(database_url=url, db_pool_max=3, pool_size=1))
    try:
        started = time.perf_counter()
        with path.open("rb") as file:
            restore_backup(services, file, None)
        seconds = time.perf_counter() - started
        began = time.perf_counter()
        rebuild(services.desk, services.read_models)
        rebuild_seconds = time.perf_counter() - began
        began = time.perf_counter()
        assert AuditLog(services.desk).verify().ok
        verify_seconds = time.perf_counter() - began
    finally:
        services.close()
    found = _rates("bk1_restore", events, seconds)
    found["then_rebuild_s"] = round(rebuild_seconds, 2)
    found["then_verify_s"] = round(verify_seconds, 2)
    return found


def _time_raw_copy_in(url: str, folder: Path, events: int) -> dict[str, Any]:
    """COPY the plain files back FROM STDIN into empty tables shaped like the three (LIKE ... INCLUDING ALL)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            like = SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)")
            conn.execute(like.format(Identifier("public", f"raw_{table}"), Identifier("public", table)))
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for table in TABLES:
            statement = SQL("COPY {} FROM STDIN").format(Identifier("public", f"raw_{table}"))
            with (folder / table).open("rb") as raw, conn.cursor().copy(statement) as copy:
                while chunk := raw.read(RAW_CHUNK):
                    copy.write(chunk)
    seconds = time.perf_counter() - started
    return _rates("bk1_raw_copy_in", events, seconds)


def _rates(name: str, events: int, seconds: float, **extra: Any) -> dict[str, Any]:
    rate = round(events / seconds)
    return {"name": name, "events": events, "seconds": round(seconds, 3), "events_per_s": rate, **extra}
