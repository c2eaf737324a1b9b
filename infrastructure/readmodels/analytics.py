"""The `analytics` schema: stable SQL views over the serving read models, for BI tools (PostgreSQL only).

The read models live in generations of tables (`rm<N>_tickets`, ...) that a rebuild replaces.
A BI tool (Metabase, Superset) needs names that stay: `analytics.tickets`,
`analytics.ticket_tags`, `analytics.sla_targets` and `analytics.solved_per_agent_day`, whose
columns are listed here and in docs/analytics.md and only ever grow at the end. Each view is
(re)made over the serving generation when the schema step runs and, in the same transaction, when
a rebuild switches generations, so a dashboard never sees a half-switched schema.

The views carry no personal text: no titles, descriptions or custom-field values, only ids,
states, counts and moments. A view reads its tables with its owner's rights, so the read-only
role `ledgerdesk analytics role` makes may read the views and nothing else.

With `LEDGERDESK_POSTGRES_SCHEMA` set, the views go to `<that schema>_analytics`, so several
desks sharing one database keep theirs apart.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from projections.sql import TableNames

#: The views, the table each reads (a `TableNames` property) and their columns, in order: an existing column is
#: never renamed, removed or moved.
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tickets": (
        "tickets",
        (
            "ticket_id",
            "tenant",
            "status",
            "status_category",
            "priority",
            "ticket_type",
            "group_id",
            "assignee",
            "requester_id",
            "organisation",
            "channel",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
            "reopen_count",
            "public_comments",
            "internal_notes",
            "first_agent_reply_at",
            "sla_due_at",
            "sla_breached_at",
            "workflow",
            "version",
        ),
    ),
    "ticket_tags": ("tags", ("ticket_id", "tenant", "tag")),
    "sla_targets": (
        "sla_targets",
        (
            "ticket_id",
            "tenant",
            "target",
            "policy_id",
            "policy_version",
            "target_minutes",
            "state",
            "cycle",
            "started_at",
            "due_at",
            "elapsed_minutes",
            "fulfilled_at",
            "breached_at",
            "group_id",
            "priority",
        ),
    ),
    "solved_per_agent_day": ("solved", ("tenant", "agent", "day", "solved")),
}
#: Columns shown differently from how the table keeps them: "due never" is kept as year 9999, shown as NULL.
SHOWN_AS = {"sla_due_at": "CASE WHEN sla_due_at >= '9999-01-01' THEN NULL ELSE sla_due_at END AS sla_due_at"}


def schema_name(events_schema: str) -> str:
    """The views' schema for a desk whose tables are in `events_schema`."""
    return "analytics" if events_schema in ("", "public") else f"{events_schema}_analytics"


def make_views(cursor: Any, events_schema: str, names: TableNames) -> None:
    """Create the schema and (re)make every view over the generation named by `names`."""
    schema = sql.Identifier(schema_name(events_schema))
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
    for view, (table, columns) in VIEWS.items():
        shown = ", ".join(SHOWN_AS.get(column, column) for column in columns)
        query = f"SELECT {shown} FROM {getattr(names, table)}"  # names of our own tables, no input in them
        cursor.execute(
            sql.SQL("CREATE OR REPLACE VIEW {}.{} AS ").format(schema, sql.Identifier(view)) + sql.SQL(query)
        )


def grant_reading(cursor: Any, events_schema: str, role: str, password: str) -> None:
    """Create (or update the password of) a login role that may read the views and nothing else."""
    schema = sql.Identifier(schema_name(events_schema))
    who = sql.Identifier(role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = "ALTER" if cursor.fetchone() else "CREATE"
    cursor.execute(
        sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
            who, sql.Literal(password)
        )
    )
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who))
    cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, who))
    cursor.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(schema, who))
