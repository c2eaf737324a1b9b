"""PostgreSQL connections: a budget per process, idle ones released, broken ones never handed out.

eventsourcing's PostgreSQL datastore builds a psycopg pool from its environment; this factory
replaces that pool, before anything opened it, with one that

* holds at most the process's budget (LEDGERDESK_DB_POOL_MAX, less one when the process also
  keeps a LISTEN connection open for the projection worker: `reserve()`), keeps only
  LEDGERDESK_POOL_SIZE connections while idle and closes the others after
  LEDGERDESK_DB_IDLE_SECONDS unused;
* checks a connection on checkout when something arrived on its socket while it sat idle (a
  server that ended the session sends an error and closes it: the socket reads as ready), at
  the cost of one `poll()` and no round trip otherwise; a connection that fails the check is
  dropped and the next one taken at once;
* drains itself when a connection breaks in use: every connection opened before the break is
  closed instead of handed out again (after a database restart, all of them are dead);
* says why when no connection can be had in time: the budget, and what the server answered to
  the last connection it refused ("too many clients already").

Each connection carries `application_name` `ledgerdesk-<pid>`, so `pg_stat_activity` shows
which process holds what.
"""

from __future__ import annotations

import os
import select
import threading
from time import monotonic
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool, PostgresFactory
from eventsourcing.utils import Environment
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

CONNECTION_BUDGET = "CONNECTION_BUDGET"  # our keys in eventsourcing's environment
POOL_MAX_IDLE_SECONDS = "POOL_MAX_IDLE_SECONDS"
BUDGET_SETTING = "LEDGERDESK_DB_POOL_MAX"

Connection = psycopg.Connection[DictRow]


def application_name() -> str:
    """What this process's connections are called in `pg_stat_activity`."""
    return f"ledgerdesk-{os.getpid()}"


class BudgetedPool(ConnectionPool[Connection]):
    """eventsourcing's connection pool, held to a budget, checking connections that may be broken."""

    def __init__(self, *args: Any, budget: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.last_refusal = ""  # what the server said when it last refused a connection
        self._reserved = 0
        self._reserve_lock = threading.Lock()

    def reserve(self, side_connections: int) -> None:
        """Leave room in the budget for connections of this process opened outside the pool (LISTEN)."""
        with self._reserve_lock:
            self._reserved += side_connections
            largest = max(1, self.budget - self._reserved)
            self.resize(min(self.min_size, largest), largest)

    def getconn(self, timeout: float | None = None) -> Connection:
        """A connection that is not known to be broken, within `timeout` (else PoolTimeout saying why)."""
        wait = self.timeout if timeout is None else timeout
        deadline = monotonic() + wait
        while True:
            try:
                conn = super().getconn(max(deadline - monotonic(), 0.001))
            except PoolTimeout:
                raise PoolTimeout(self._why_none(wait)) from None
            if not _input_waiting(conn):
                return conn
            try:
                self.check_connection(conn)  # one round trip, only for a suspect connection
            except psycopg.Error:
                self._broken(conn)
                super().putconn(conn)  # discarded: its session is gone
                continue
            return conn

    def putconn(self, conn: Connection) -> None:
        """Return a connection; one that broke in use drains the pool of its contemporaries."""
        if conn.broken:
            self._broken(conn)
        super().putconn(conn)

    def _broken(self, conn: Connection) -> None:
        # One broken connection, and the others opened before it are likely broken too (a restart,
        # a failover, pg_terminate_backend): drain once, not once per connection found broken.
        if conn._created_at > self._drained_at:  # set on each connection by psycopg_pool
            self.drain()

    def _connect(self, timeout: float | None = None) -> Connection:
        try:
            return super()._connect(timeout)
        except psycopg.OperationalError as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            self.last_refusal = lines[-1] if lines else type(error).__name__
            raise

    def _why_none(self, waited: float) -> str:
        stats = self.get_stats()
        held = stats.get("pool_size", 0)
        why = (
            f"no database connection within {waited:g} s: this process holds {held} of the {self.max_size} its "
            f"budget allows ({BUDGET_SETTING}={self.budget}"
        )
        why += f", {self._reserved} kept for LISTEN)" if self._reserved else ")"
        if self.last_refusal:
            why += f"; the server refused another: {self.last_refusal}"
        return why


def _input_waiting(conn: Connection) -> bool:
    """Whether the server sent something to an idle connection (an error and a close, when it ended it)."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class BudgetedPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, with a `BudgetedPool` in its datastore."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        datastore = self.datastore
        old = datastore.pool
        budget = int(self.env.get(CONNECTION_BUDGET) or old.max_size)
        datastore.pool = BudgetedPool(
            connection_class=psycopg.Connection[DictRow],
            kwargs={**(old.kwargs if isinstance(old.kwargs, dict) else {}), "application_name": application_name()},
            min_size=min(old.min_size, old.max_size),
            max_size=old.max_size,
            open=False,
            configure=datastore.after_connect_func(),
            timeout=old.timeout,
            max_waiting=old.max_waiting,
            max_lifetime=old.max_lifetime,
            max_idle=float(self.env.get(POOL_MAX_IDLE_SECONDS) or old.max_idle),
            get_password_func=old.get_password_func,
            name="ledgerdesk",
            budget=budget,
        )
        old.close()  # never opened: nothing to close but its bookkeeping
