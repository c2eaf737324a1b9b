"""Where events are stored: parse the database URL and translate it into eventsourcing's settings.

This is the one place that knows eventsourcing's environment variable names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from infrastructure.settings import Settings


class ConfigurationError(Exception):
    """The settings cannot work (for example an unknown database URL scheme)."""


class DatabaseUnavailableError(Exception):
    """The configured database cannot be reached or opened."""


class Backend(StrEnum):
    """Which eventsourcing persistence module stores the events."""

    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class Database:
    """A parsed database URL plus the settings that go with it."""

    backend: Backend
    path: str = ""  # SQLite file
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""

    def connect_kwargs(self) -> dict[str, str | int | None]:
        """Keyword arguments for psycopg.connect()."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "dbname": self.dbname,
        }

    def describe(self) -> str:
        """Where the data lives, for messages (never includes the password)."""
        if self.backend is Backend.POSTGRES:
            return f"PostgreSQL at {self.host}:{self.port}/{self.dbname} as {self.user}"
        if self.backend is Backend.SQLITE:
            return f"SQLite file {self.path}"
        return "memory"


def parse_database_url(url: str) -> Database:
    """Parse `sqlite:///path`, `postgresql://user@host:port/db` or `memory://`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return Database(Backend.MEMORY)
    if scheme == "sqlite":
        path = unquote(parts.netloc + parts.path)
        if path.startswith("/./"):  # sqlite:///./var/x.sqlite means a relative path
            path = path[1:]
        if not path or path == "/":
            msg = f"the SQLite URL {url!r} names no file; use sqlite:///./var/ledgerdesk.sqlite"
            raise ConfigurationError(msg)
        return Database(Backend.SQLITE, path=path)
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            msg = f"the PostgreSQL URL {url!r} names no database; use postgresql://user@host:5432/dbname"
            raise ConfigurationError(msg)
        try:
            port = parts.port or 5432
        except ValueError:
            msg = f"the PostgreSQL URL {url!r} has an invalid port"
            raise ConfigurationError(msg) from None
        return Database(
            Backend.POSTGRES,
            host=parts.hostname or "127.0.0.1",
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )
    msg = f"unsupported database URL scheme {parts.scheme!r} in {url!r}; use sqlite:///PATH or postgresql://..."
    raise ConfigurationError(msg)


#: eventsourcing's PostgreSQL factory with a pool held to the connection budget.
POSTGRES_FACTORY = "infrastructure.pool:BudgetedPostgresFactory"
#: Stores personal fields encrypted with per-person keys (see infrastructure/privacy/mapper.py).
PERSONAL_DATA_MAPPER = "infrastructure.privacy.mapper:PersonalDataMapper"


def eventsourcing_env(database: Database, settings: Settings) -> dict[str, str]:
    """Eventsourcing's environment for the HelpDesk application."""
    env = _backend_env(database, settings)
    if settings.aggregate_cache_size > 0:
        # Cached aggregates are fast-forwarded with the events recorded since on every read, and
        # handed out as deep copies, so a rejected command never leaves a trace in the cache.
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
        env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
    return env


def _backend_env(database: Database, settings: Settings) -> dict[str, str]:
    # eventsourcing never creates tables itself: the schema step does, once, under a lock
    # (infrastructure/schema.py), because processes creating them at once race.
    create = "n"
    if database.backend is Backend.MEMORY:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo", "MAPPER_TOPIC": PERSONAL_DATA_MAPPER}
    if database.backend is Backend.SQLITE:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "MAPPER_TOPIC": PERSONAL_DATA_MAPPER,
            "SQLITE_DBNAME": database.path,
            "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
            "APPLICATION_RECORDER_TOPIC": "infrastructure.audit.chain:ChainedSQLiteApplicationRecorder",
            "CREATE_TABLE": create,
        }
    return {
        "PERSISTENCE_MODULE": POSTGRES_FACTORY,
        "POSTGRES_DBNAME": database.dbname,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password,
        "POSTGRES_SCHEMA": settings.postgres_schema,
        **_pool_env(settings),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.connect_timeout_seconds),
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        # Off on purpose: in 9.5 the insert function skips the table lock that keeps
        # notification ids in commit order, so log readers could miss late commits.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "MAPPER_TOPIC": PERSONAL_DATA_MAPPER,
        "APPLICATION_RECORDER_TOPIC": "infrastructure.audit.chain:ChainedPostgresApplicationRecorder",
        "CREATE_TABLE": create,
    }


def _pool_env(settings: Settings) -> dict[str, str]:
    """The pool within the process's connection budget (infrastructure/pool.py reads the last two)."""
    budget = settings.connection_budget()
    kept = min(settings.pool_size, budget)
    return {
        "POSTGRES_POOL_SIZE": str(kept),
        "POSTGRES_MAX_OVERFLOW": str(budget - kept),
        "CONNECTION_BUDGET": str(budget),
        "POOL_MAX_IDLE_SECONDS": str(settings.db_idle_seconds),
    }


def check_reachable(database: Database, settings: Settings) -> None:
    """Fail fast, with one clear message, when the database cannot be used."""
    if database.backend is Backend.SQLITE:
        _check_sqlite(database)
    elif database.backend is Backend.POSTGRES:
        _check_postgres(database, settings)


def _check_sqlite(database: Database) -> None:
    path = Path(database.path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as error:
        msg = f"cannot open {database.describe()}: {error.strerror or error}"
        raise DatabaseUnavailableError(msg) from None


def _check_postgres(database: Database, settings: Settings) -> None:
    try:
        connection = psycopg.connect(**database.connect_kwargs(), connect_timeout=settings.connect_timeout_seconds)  # type: ignore[arg-type]
        connection.close()
    except psycopg.Error as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0].removeprefix("connection failed: ") if lines else type(error).__name__
        msg = f"cannot connect to {database.describe()}: {reason}"
        if "too many" in reason:
            msg += "; " + budget_advice(settings)
        raise DatabaseUnavailableError(msg) from None


def budget_advice(settings: Settings) -> str:
    """What to do when the server has no connection slot left (named settings, no secrets)."""
    return (
        f"the server has no free connection slot; each process may hold LEDGERDESK_DB_POOL_MAX="
        f"{settings.connection_budget()}: run fewer processes, lower that budget or raise max_connections"
    )
