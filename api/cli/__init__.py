"""The `ledgerdesk` command line: one module per command group, put together here.

`app` is the typer application, `main` the console-script entry point.
"""

from __future__ import annotations

import typer

from api.cli import (
    analytics,
    audit,
    backups,
    customers,
    exports,
    keys,
    mail,
    privacy,
    processes,
    projections,
    schema,
    sla,
    suggest,
    users,
    workflows,
)

app = typer.Typer(help="ledgerdesk: an event-sourced help desk.", no_args_is_help=True, add_completion=False)
# Registered in the order `ledgerdesk --help` lists them: the processes, then the groups.
app.command()(schema.migrate)
app.command()(processes.serve)
app.command()(processes.project)
app.command("sla-watch")(processes.sla_watch)
app.command()(processes.worker)
app.command("mail-in")(mail.mail_in)
app.command()(projections.rebuild)
app.command()(exports.export)
app.command()(backups.backup)
app.command()(backups.restore)
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(workflows.app, name="workflows")
app.add_typer(sla.app, name="sla")
app.add_typer(privacy.app, name="privacy")
app.add_typer(audit.app, name="audit")
app.add_typer(projections.app, name="projections")
app.add_typer(analytics.app, name="analytics")
app.add_typer(suggest.app, name="suggest")
app.add_typer(customers.app, name="customers")

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
