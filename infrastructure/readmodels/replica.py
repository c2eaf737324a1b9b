"""Read models served from a streaming replica of the events' PostgreSQL database.

PostgreSQL's own streaming replication copies every table, the views' and their tracking rows
included, so a replica holds the same read models as the primary, a little behind. Reads go
there while it has reached the position a request asks for (read-your-writes, api/deps.py),
taking their load off the primary; the projections, the commands and every background process
keep working on the primary.

Reads never go back in time within one process either: the process keeps the highest position it
has written or read from the primary (its floor), and a request goes to the replica only once the
replica has reached that too. A client that moves between API hosts passes the position token.
"""

from __future__ import annotations

import threading

from eventsourcing.postgres import PostgresDatastore

from domain.helpdesk import HelpDesk
from infrastructure.database import Backend, ConfigurationError, Database, check_reachable, parse_database_url
from infrastructure.readmodels.store import ReadModels
from infrastructure.settings import Settings


class ReplicaReads:
    """The replica's read models, and the position below which this process will not read from it."""

    def __init__(self, read_models: ReadModels) -> None:
        self.read_models = read_models
        self._floor = 0
        self._lock = threading.Lock()

    def note(self, position: int) -> None:
        """Note that this process wrote, or read from the primary, up to `position`."""
        with self._lock:
            self._floor = max(self._floor, position)

    def floor(self) -> int:
        """The least position a read from the replica must have reached."""
        return self._floor

    def close(self) -> None:
        """Close the replica's connections."""
        self.read_models.close()


def replica_reads(desk: HelpDesk, primary: Database, settings: Settings) -> ReplicaReads | None:
    """Reads from the replica that `read_database_url` names (None when it names none)."""
    if not settings.read_database_url:
        return None
    replica = parse_database_url(settings.read_database_url)
    if replica.backend is not Backend.POSTGRES or primary.backend is not Backend.POSTGRES:
        msg = "LEDGERDESK_READ_DATABASE_URL names a PostgreSQL replica, and needs the events in PostgreSQL"
        raise ConfigurationError(msg)
    check_reachable(replica, settings)
    budget = settings.connection_budget()
    kept = min(settings.pool_size, budget)
    datastore = PostgresDatastore(
        replica.dbname,
        replica.host,
        replica.port,
        replica.user,
        replica.password,
        connect_timeout=settings.connect_timeout_seconds,
        pool_size=kept,
        max_overflow=budget - kept,
        schema=settings.postgres_schema,
        pre_ping=True,  # a replica restarted or promoted drops its connections: find out before a read does
    )
    reads = ReplicaReads(ReadModels(desk, primary, settings, replica=datastore))
    desk.on_saved(reads.note)
    return reads
