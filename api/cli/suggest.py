"""`ledgerdesk suggest`: train the tenants' suggestion models now (docs/suggestions.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.context import fail, load_settings, services_from
from api.cli.output import progress
from infrastructure.suggestions.training import AnotherTrainerError, Outcome, Progress

app = typer.Typer(help="Suggestions learned from each tenant's solved tickets.", no_args_is_help=True)


@app.command()
def train(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: every tenant with tickets).")] = None,
) -> None:
    """Train a new model version for each tenant from its solved and closed tickets, with a progress bar.

    One trainer at a time across every host: while a worker trains, this says so and exits with status 2.
    """
    settings = load_settings()
    if not settings.suggestions_enabled:
        fail("suggestions are off (LEDGERDESK_SUGGESTIONS_ENABLED=false)")
    with services_from(settings) as services, progress("reading", "tickets") as (bar, task):
        trainer = services.trainer()
        tenants = [tenant] if tenant is not None else trainer.tenants()

        def shown(name: str) -> Progress:
            bar.update(task, description=f"reading {name}", completed=0, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)  # read, of how many

        try:
            outcomes = trainer.train(tenants, progress=shown)
        except AnotherTrainerError as error:
            fail(str(error))
    for outcome in outcomes:
        typer.echo(_line(outcome))


def _line(outcome: Outcome) -> str:
    if outcome.version is None:
        return f"{outcome.tenant}: no model ({outcome.skipped})"
    version = outcome.version
    accuracy = ", ".join(f"{name} {report.get('accuracy', 0):.3f}" for name, report in version.reports.items())
    return (
        f"{outcome.tenant}: model version {version.version} from {version.size} tickets "
        f"in {version.seconds:.1f} s; holdout accuracy {accuracy or 'none'}"
    )
