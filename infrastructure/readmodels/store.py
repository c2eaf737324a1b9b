"""The read models as the rest of the service sees them: which generation serves, its queries, its position.

Generations make rebuilds blue/green: a rebuild fills generation N+1 from the whole event log
while generation N keeps serving, then switches the pointer. Readers and the projection worker
follow the pointer; nothing is stopped.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from domain.helpdesk import HelpDesk
from infrastructure.database import Backend, Database
from infrastructure.readmodels import analytics
from infrastructure.readmodels.view import PostgresTicketsView, SQLiteTicketsView, SqlTicketsView
from infrastructure.readmodels.waiting import PositionWaiter
from infrastructure.settings import Settings
from projections.activity.queries import ActivityQueries
from projections.knowledge.queries import KnowledgeQueries
from projections.knowledge.tables import KNOWLEDGE_TABLES
from projections.metrics.queries import MetricQueries
from projections.metrics.tables import METRIC_TABLES
from projections.parking.tables import PARKING_TABLES
from projections.people.queries import PeopleQueries
from projections.routing.queries import RoutingQueries
from projections.saved_views.queries import SavedViewQueries
from projections.sla.queries import SlaQueries
from projections.sql import POSTGRES, SQLITE, Reader, postgres_names
from projections.tickets.queries import Page, Sort, TicketFilter, TicketQueries
from projections.workload.queries import WorkloadQueries

POINTER_TTL_SECONDS = 1.0
# Every table of one generation (what dropping it removes).
GENERATION_TABLES = (
    "tickets",
    "ticket_tags",
    "ticket_search",
    "agent_solved_daily",
    "routing_last_routed",
    "agent_last_assigned",
    "saved_views",
    "audit_activity",
    "ticket_people",
    "sla_policies",
    "sla_calendars",
    "sla_customer_tiers",
    "sla_clocks",
    "sla_targets",
    *METRIC_TABLES,
    *PARKING_TABLES,
    *KNOWLEDGE_TABLES,
    "tracking",
)
WAIT_STEP_SECONDS = 0.01

Transaction = Callable[[], AbstractContextManager[Any]]
R = TypeVar("R", bound=Reader)


class Generations:
    """The pointer to the generation of the read models that serves reads, kept beside the events."""

    def __init__(
        self,
        transaction: Transaction | None,
        placeholder: str,
        table: str,
        on_switch: Callable[[Any, int], None] | None = None,
    ) -> None:
        """`on_switch(cursor, generation)` runs in the switch's transaction (the analytics views follow it)."""
        self._transaction = transaction
        self._p = placeholder
        self._table = table
        self._on_switch = on_switch
        self._memory = 1  # the pointer when events are kept in memory

    def create_table(self) -> None:
        """Create the pointer table, starting at generation 1."""
        if self._transaction is None:
            return
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (name TEXT PRIMARY KEY, generation INTEGER NOT NULL)"
            )
            cursor.execute(
                f"INSERT INTO {self._table} (name, generation) VALUES ('tickets', 1) ON CONFLICT (name) DO NOTHING"
            )

    def active(self) -> int:
        """The generation that serves reads."""
        if self._transaction is None:
            return self._memory
        with self._transaction() as cursor:
            cursor.execute(f"SELECT generation FROM {self._table} WHERE name = 'tickets'")
            row = cursor.fetchone()
        return 1 if row is None else int(row["generation"])

    def switch(self, generation: int) -> None:
        """Make `generation` the one that serves reads."""
        if self._transaction is None:
            self._memory = generation
            return
        with self._transaction() as cursor:
            cursor.execute(f"UPDATE {self._table} SET generation = {self._p} WHERE name = 'tickets'", [generation])
            if self._on_switch is not None:
                self._on_switch(cursor, generation)


class ReadModels:
    """Opens generations of the ticket read models and answers where reads should go."""

    def __init__(
        self,
        desk: HelpDesk,
        database: Database,
        settings: Settings,
        *,
        schema_lock: Callable[[], AbstractContextManager[Any]] = nullcontext,
        replica: PostgresDatastore | None = None,
    ) -> None:
        """`replica`: read the views from this streaming replica of the events' PostgreSQL database (read only)."""
        self.desk = desk
        self.replica = replica
        self.database = database
        self.settings = settings
        self.generations = self._generations()
        self._views: dict[int, SqlTicketsView] = {}
        self._lock = threading.Lock()
        self._pointer = (0.0, 0)  # (read at, generation)
        self._advanced = threading.Condition()
        self._waiter = PositionWaiter(
            self.position, per_caller=settings.read_waits_per_key, step_seconds=WAIT_STEP_SECONDS
        )
        self._memory_name = uuid.uuid4().hex
        self._schema_lock = schema_lock
        self._made: set[int] = set()  # generations whose tables are known to exist

    # --- tables ------------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the generation pointer and the serving generation's tables (a step of the schema's migrate)."""
        self.generations.create_table()
        generation = self.active_generation(fresh=True)
        view = self.view(generation, create=False)
        _create_tables(view)
        if self.database.backend is Backend.POSTGRES:
            with view.datastore.transaction(commit=True) as cursor:
                analytics.make_views(cursor, view.datastore.schema, view.names)
        self._made.add(generation)

    def schema_ready(self) -> None:
        """The schema step is done (here or by another process): the serving generation's tables exist."""
        self._made.add(self.active_generation(fresh=True))

    # --- generations ---------------------------------------------------------------------

    def view(self, generation: int, *, create: bool | None = None) -> SqlTicketsView:
        """The view of one generation (opened once per process).

        Its tables are created, under the schema lock, when `create` says so or, by default, when
        LEDGERDESK_CREATE_TABLES is on and the schema step did not make them (a rebuild's new generation).
        """
        with self._lock:
            view = self._views.get(generation)
            if view is None:
                view = self._open(generation)
                wanted = (self.settings.create_tables and generation not in self._made) if create is None else create
                if wanted and self.replica is None:  # a replica is read only: its primary makes the tables
                    with self._schema_lock():
                        _create_tables(view)
                    self._made.add(generation)
                self._views[generation] = view
            return view

    def active_generation(self, *, fresh: bool = False) -> int:
        """The serving generation, re-read at most once a second unless `fresh`."""
        read_at, generation = self._pointer
        now = time.monotonic()
        if fresh or now - read_at > POINTER_TTL_SECONDS:
            generation = self.generations.active()
            self._pointer = (now, generation)
        return generation

    def active_view(self) -> SqlTicketsView:
        """The view that serves reads now."""
        return self.view(self.active_generation())

    def tickets(self) -> TicketQueries:
        """Reads of the ticket rows of the serving generation."""
        return self._reader(TicketQueries)

    def ticket_page(self, where: TicketFilter, *, sort: Sort, limit: int, after: str | None = None) -> tuple[Page, int]:
        """A page of the serving generation's tickets, and the position that generation had applied when it was read.

        One statement reads both (`TicketQueries.list_tickets`): one pool checkout and one round trip
        where reading `position()` and then the page took two, and no rebuild's switch can fall between.
        """
        page = self.tickets().list_tickets(where, sort=sort, limit=limit, after=after, tracked=self.desk.name)
        return page, page.position or 0

    def routing(self) -> RoutingQueries:
        """What the router decides from."""
        return self._reader(RoutingQueries)

    def saved_views(self) -> SavedViewQueries:
        """Reads of the saved views of the serving generation."""
        return self._reader(SavedViewQueries)

    def workload(self) -> WorkloadQueries:
        """Reads of agents' workload in the serving generation."""
        return self._reader(WorkloadQueries)

    def people(self) -> PeopleQueries:
        """Reads of whose data each ticket holds, in the serving generation."""
        return self._reader(PeopleQueries)

    def activity(self) -> ActivityQueries:
        """Reads of the audit activity of the serving generation."""
        return self._reader(ActivityQueries)

    def sla(self) -> SlaQueries:
        """Reads of the SLA status model of the serving generation."""
        return self._reader(SlaQueries)

    def metrics(self) -> MetricQueries:
        """Reads of the service-metric facts of the serving generation."""
        return self._reader(MetricQueries)

    def knowledge(self) -> KnowledgeQueries:
        """Reads of the knowledge base of the serving generation: search, lists, ratings."""
        return self._reader(KnowledgeQueries)

    def _reader(self, queries: type[R]) -> R:
        view = self.active_view()
        return queries(view.datastore, view.dialect, view.names)

    def drop(self, generation: int) -> None:
        """Remove a generation that no longer serves (its tables or file)."""
        view = self.view(generation, create=False)
        if self.database.backend is Backend.POSTGRES:
            with view.datastore.transaction(commit=True) as cursor:
                for table in GENERATION_TABLES:
                    cursor.execute(f"DROP TABLE IF EXISTS {view.names.table(table)}")
        with self._lock:
            self._views.pop(generation, None)
        if self.database.backend is Backend.SQLITE:
            view.datastore.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._sqlite_path(generation)}{suffix}").unlink(missing_ok=True)

    # --- positions ---------------------------------------------------------------------------

    def position(self, generation: int | None = None) -> int:
        """The log position the (serving) generation has applied up to."""
        view = self.active_view() if generation is None else self.view(generation)
        return view.max_tracking_id(self.desk.name) or 0

    def head(self) -> int:
        """The last position of the event log (0 when it is empty)."""
        return self.desk.recorder.max_notification_id() or 0

    def advanced(self) -> None:
        """Wake readers waiting for a position (called by in-process projection workers)."""
        with self._advanced:
            self._advanced.notify_all()
        self._waiter.wake()

    async def reach(self, position: int, timeout: float, *, caller: str) -> int | None:
        """Wait without holding a thread, at most `timeout` seconds, for `position`; None if not reached.

        For API requests: raises TooManyWaitsError when `caller` already has its share of waits.
        """
        return await self._waiter.wait(position, timeout, caller=caller)

    def waiting(self) -> int:
        """How many requests of this process are waiting for a position now."""
        return self._waiter.waiting()

    def wait_for(self, position: int, timeout: float) -> int:
        """Wait, at most `timeout` seconds, until the serving view has applied `position`; return its position.

        Holds the calling thread: for background workers and commands, not for API requests (`reach`).
        """
        deadline = time.monotonic() + timeout
        current = self.position()
        while current < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with self._advanced:
                # Woken at once by an in-process worker; a worker elsewhere is seen within a step.
                self._advanced.wait(min(WAIT_STEP_SECONDS, remaining))
            current = self.position()
        return current

    def close(self) -> None:
        """Stop the waits' poller; close the views' own connections (PostgreSQL views share the events' pool)."""
        self._waiter.close()
        with self._lock:
            views, self._views = list(self._views.values()), {}
        if self.database.backend is not Backend.POSTGRES:
            for view in views:
                view.datastore.close()
        if self.replica is not None:
            self.replica.close()

    # --- how each backend keeps them ------------------------------------------------------------

    def _open(self, generation: int) -> SqlTicketsView:
        if self.database.backend is Backend.POSTGRES:
            return PostgresTicketsView(self._postgres(), generation)
        if self.database.backend is Backend.SQLITE:
            name = str(self._sqlite_path(generation))
        else:  # events in memory: the views in a shared in-memory SQLite database
            name = f"file:ledgerdesk_views_{self._memory_name}_{generation}?mode=memory&cache=shared"
        store = SQLiteDatastore(name, lock_timeout=self.settings.lock_timeout_seconds)
        return SQLiteTicketsView(store)

    def _postgres(self) -> PostgresDatastore:
        """Where the views are read: the replica when there is one, else the events' own database."""
        if self.replica is not None:
            return self.replica
        datastore: PostgresDatastore = self.desk.recorder.datastore  # type: ignore[attr-defined]
        return datastore

    def _sqlite_path(self, generation: int) -> Path:
        events = Path(self.database.path)
        return events.with_name(f"{events.stem}.views-{generation}{events.suffix or '.sqlite'}")

    def _generations(self) -> Generations:
        if self.database.backend is Backend.MEMORY:
            return Generations(None, "?", "")
        if self.database.backend is Backend.POSTGRES:
            datastore = self._postgres()
            table = f'"{datastore.schema}".ledgerdesk_read_models'
            if self.replica is not None:  # read only: it never switches
                return Generations(lambda: datastore.transaction(commit=True), POSTGRES.placeholder, table)

            def follow(cursor: Any, generation: int) -> None:
                analytics.make_views(cursor, datastore.schema, postgres_names(datastore.schema, generation))

            return Generations(lambda: datastore.transaction(commit=True), POSTGRES.placeholder, table, follow)
        events = self.desk.recorder.datastore  # type: ignore[attr-defined]
        return Generations(lambda: events.transaction(commit=True), SQLITE.placeholder, "ledgerdesk_read_models")


def _create_tables(view: SqlTicketsView) -> None:
    """Create a generation's tables; the caller holds the schema lock, so no other process is doing it too."""
    view.create_table()
    view.add_missing_columns()
