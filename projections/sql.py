"""The SQL helpers every read-model slice shares: what differs between SQLite and PostgreSQL, and table names.

A slice (projections/<slice>/) writes its SQL once, against a `Dialect`, and names its tables
through `TableNames`, so a rebuild can build a new generation beside the one serving: on
PostgreSQL a table-name prefix `rm<N>_`, on SQLite a file of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from psycopg.types.json import Jsonb


class Kind(Enum):
    """How a column is stored: its SQL type, and how a row's value goes in and comes out."""

    UUID = "uuid"
    TEXT = "text"
    INTEGER = "integer"
    BIGINT = "bigint"
    FLOAT = "float"
    JSON = "json"
    TIME = "time"
    FLAG = "flag"  # a bool, as an integer 0/1


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a read-model table, and the row field it holds."""

    name: str
    kind: Kind
    required: bool = True  # NOT NULL
    field: str = ""  # the row field; default: the column's name

    @property
    def attribute(self) -> str:
        """The row field this column holds."""
        return self.field or self.name

    def sql_type(self, d: Dialect) -> str:
        """The column's type in `d`, with NOT NULL where required."""
        sql = {
            Kind.UUID: d.uuid_type,
            Kind.TEXT: "TEXT",
            Kind.INTEGER: "INTEGER",
            Kind.BIGINT: "BIGINT",
            Kind.FLOAT: "DOUBLE PRECISION",
            Kind.JSON: d.json_type,
            Kind.TIME: d.time_type,
            Kind.FLAG: "INTEGER",
        }[self.kind]
        if self.kind is Kind.FLAG:
            return f"{sql} NOT NULL DEFAULT 0"
        return f"{sql} NOT NULL" if self.required else sql


@dataclass(frozen=True, slots=True)
class Dialect:
    """How values and a few SQL fragments are written for one database."""

    name: str
    placeholder: str
    uuid_type: str
    time_type: str
    json_type: str
    date_type: str
    like: str  # case-insensitive substring match
    max_params: int  # bound parameters per statement (SQLite builds before 3.32 allow 999)

    def create_table(self, table: str, columns: Sequence[Column], *, primary_key: Sequence[str]) -> str:
        """The DDL of a table made of `columns`, each typed for this database."""
        typed = ", ".join(f"{c.name} {c.sql_type(self)}" for c in columns)
        return f"CREATE TABLE IF NOT EXISTS {table} ({typed}, PRIMARY KEY ({', '.join(primary_key)}))"

    @property
    def is_postgres(self) -> bool:
        """True for PostgreSQL."""
        return self.name == "postgres"

    def reading(self, datastore: Any) -> AbstractContextManager[Any]:
        """A cursor for one read-only statement.

        On PostgreSQL an autocommit connection: one round trip, where BEGIN, the query and
        ROLLBACK would be three. A read of several statements that must agree with each other
        still takes `datastore.transaction(commit=False)`.
        """
        if self.is_postgres:
            return datastore.cursor()  # type: ignore[no-any-return]
        return datastore.transaction(commit=False)  # type: ignore[no-any-return]

    def insert_rows(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], then: str = ""
    ) -> None:
        """`INSERT INTO <table> (<columns>) ... <then>` of many rows in few statements.

        One statement for a whole batch instead of one per row: the server parses, plans and
        answers once, which is most of what a batch write costs. On PostgreSQL the rows travel
        as one JSON parameter, typed by the table's own row type (`jsonb_populate_recordset`),
        so the statement stays short whatever the number of rows; on SQLite as multi-row VALUES.
        Rows of one call must not upsert the same key twice (callers write rows keyed by a dict).
        """
        if not rows:
            return
        names = ", ".join(columns)
        if self.is_postgres:
            documents = [dict(zip(columns, row, strict=True)) for row in rows]
            records = orjson.dumps(documents, default=_json_value, option=orjson.OPT_NON_STR_KEYS).decode()
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_populate_recordset(NULL::{table}, %s) {then}",
                [records],
            )
            return
        group = f"({self.params(len(columns))})"
        per_statement = max(1, self.max_params // len(columns))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join([group] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values} {then}", [v for row in chunk for v in row])

    def delete_where_in(self, cursor: Any, table: str, column: str, values: Sequence[Any]) -> None:
        """`DELETE FROM <table> WHERE <column> IN (...)`: one statement (PostgreSQL) or a few (SQLite)."""
        if not values:
            return
        if self.is_postgres:
            cursor.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", [list(values)])
            return
        for start in range(0, len(values), self.max_params):
            chunk = values[start : start + self.max_params]
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({self.params(len(chunk))})", list(chunk))

    def params(self, count: int) -> str:
        """`count` comma-separated placeholders."""
        return ", ".join([self.placeholder] * count)

    def uuid(self, value: UUID) -> Any:
        """A UUID as stored."""
        return value if self.is_postgres else str(value)

    def to_uuid(self, value: Any) -> UUID:
        """A stored UUID as a UUID."""
        return value if isinstance(value, UUID) else UUID(value)

    def time(self, value: datetime | None) -> Any:
        """A moment as stored: timestamptz, or fixed-width ISO-8601 UTC text that sorts correctly."""
        if value is None or self.is_postgres:
            return value
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def to_time(self, value: Any) -> datetime | None:
        """A stored moment as an aware datetime."""
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value)

    def day(self, value: date) -> Any:
        """A calendar day as stored."""
        return value if self.is_postgres else value.isoformat()

    def to_day(self, value: Any) -> date:
        """A stored day as a date."""
        return value if isinstance(value, date) else date.fromisoformat(value)

    def json(self, value: Any) -> Any:
        """A JSON document as stored."""
        return Jsonb(value) if self.is_postgres else json.dumps(value, sort_keys=True)

    def to_json(self, value: Any) -> Any:
        """A stored JSON document as Python values."""
        return json.loads(value) if isinstance(value, str) else value

    # Reading inside a JSON column (`json_type`): JSONB operators on PostgreSQL, the JSON1 functions on SQLite.

    def json_path(self, *keys: str) -> Any:
        """A path of object keys into a JSON document, as the parameter of `json_at` and `json_array_holds`."""
        if self.is_postgres:
            return list(keys)  # a text[] for #>
        return "$" + "".join('."' + key.replace('"', "") + '"' for key in keys)  # a quote would end the key

    def json_at(self, column: str) -> str:
        """The value at a path (its one parameter: `json_path`) of a JSON column, NULL where there is none.

        It compares (=, <, >=, ...) with a `json_scalar` parameter: JSON with JSON on PostgreSQL
        (numbers as numbers, strings as text), the SQL value `json_extract` gives on SQLite.
        """
        return f"({column} #> {self.placeholder})" if self.is_postgres else f"json_extract({column}, ?)"

    def json_scalar(self, value: str | int | float | bool) -> Any:
        """A parameter that compares with `json_at`."""
        return Jsonb(value) if self.is_postgres else value

    def json_array_holds(self, column: str) -> str:
        """Whether the array at a path of a JSON column holds an element; parameters `json_path`, then the element."""
        if self.is_postgres:
            return f"jsonb_exists({column} #> %s, %s)"  # the ? operator, spelled so no driver reads it as a placeholder
        return f"EXISTS (SELECT 1 FROM json_each({column}, ?) AS element WHERE element.value = ?)"


def _json_value(value: Any) -> Any:
    """What orjson cannot write itself (it writes moments, days and UUIDs as PostgreSQL reads them back)."""
    if isinstance(value, Jsonb):
        return value.obj
    msg = f"cannot write {type(value).__name__} into a read-model row"
    raise TypeError(msg)


SQLITE = Dialect("sqlite", "?", "TEXT", "TEXT", "TEXT", "TEXT", "LIKE", max_params=999)
POSTGRES = Dialect("postgres", "%s", "UUID", "TIMESTAMPTZ", "JSONB", "DATE", "ILIKE", max_params=10_000)


@dataclass(frozen=True, slots=True)
class TableNames:
    """The (quoted, schema-qualified where needed) names of one generation's tables."""

    prefix: str  # unquoted, for index names
    qualifier: str  # '"schema".' on PostgreSQL, '' on SQLite

    def table(self, name: str) -> str:
        """The full name of one of this generation's tables."""
        return f'{self.qualifier}"{self.prefix}{name}"'

    def index(self, name: str) -> str:
        """An index name, unique within the schema."""
        return f'"{self.prefix}{name}"'

    def columns(self, cursor: Any, d: Dialect, name: str) -> set[str]:
        """The columns one of this generation's tables has now (empty: it does not exist)."""
        if not d.is_postgres:
            cursor.execute(f"PRAGMA table_info({self.table(name)})")
            return {row["name"] for row in cursor.fetchall()}
        schema = self.qualifier.removesuffix(".").strip('"')
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, f"{self.prefix}{name}"],
        )
        return {row["column_name"] for row in cursor.fetchall()}

    @property
    def tickets(self) -> str:
        """One row per ticket."""
        return self.table("tickets")

    @property
    def tags(self) -> str:
        """One row per (ticket, tag)."""
        return self.table("ticket_tags")

    @property
    def solved(self) -> str:
        """Tickets solved per agent per day."""
        return self.table("agent_solved_daily")

    @property
    def last_routed(self) -> str:
        """Each group's latest routing decision: round robin's pointer."""
        return self.table("routing_last_routed")

    @property
    def last_assigned(self) -> str:
        """When each agent was last given a ticket."""
        return self.table("agent_last_assigned")

    @property
    def saved_views(self) -> str:
        """Named ticket-list filters."""
        return self.table("saved_views")

    @property
    def sla_policies(self) -> str:
        """The latest version of each SLA policy, and its place in the ordered list."""
        return self.table("sla_policies")

    @property
    def sla_calendars(self) -> str:
        """The latest version of each business calendar."""
        return self.table("sla_calendars")

    @property
    def sla_customer_tiers(self) -> str:
        """Each customer profile's tier, for policies that name tiers (the profile's id, its tenant, the tier)."""
        return self.table("sla_customer_tiers")

    @property
    def sla_clocks(self) -> str:
        """Each tracked ticket's SLA clock (plain JSON) and the alerts on record."""
        return self.table("sla_clocks")

    @property
    def sla_targets(self) -> str:
        """One row per tracked ticket and target: state, due moment, elapsed and remaining minutes."""
        return self.table("sla_targets")

    @property
    def people(self) -> str:
        """Which tickets hold personal data of which person (requester, comment authors): what erasure visits."""
        return self.table("ticket_people")

    @property
    def activity(self) -> str:
        """Changes per tenant, day, actor, organisation and event type (audit reports)."""
        return self.table("audit_activity")


def postgres_names(schema: str, generation: int) -> TableNames:
    """Table names of a PostgreSQL generation."""
    return TableNames(prefix=f"rm{generation}_", qualifier=f'"{schema}".')


SQLITE_NAMES = TableNames(prefix="", qualifier="")


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size` (to keep each statement's parameters within bounds)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: Ids per SELECT ... WHERE id IN (...) when a batch loads stored rows.
SELECT_CHUNK = 500


class Reader:
    """The queries of one slice against one generation: its datastore, dialect and table names."""

    def __init__(self, datastore: Any, dialect: Dialect, names: TableNames) -> None:
        self.datastore = datastore
        self.d = dialect
        self.names = names
