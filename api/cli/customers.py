"""`ledgerdesk customers import FILE.csv`: set many customers' profiles at once, all or none.

Columns: `customer_id` (required), `tier`, `contract`, `contract_until` (YYYY-MM-DD), `purchases`
(ids separated by `;`); every other column is an attribute of that name, its cells read as true/false,
a whole number, a date (YYYY-MM-DD) or else text; an empty cell leaves the attribute out. Every row is
checked before anything is recorded: the first bad one is named (row and column) and nothing is stored.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api.cli.context import CLI, ByOption, fail, load_settings, operator, services_from
from api.cli.output import counted, progress
from api.customer_schemas import ISO_DATE
from domain.actors import identifier
from domain.customers.profile import ATTRIBUTES_MAX, AttributeValue, Profile, profile
from domain.errors import DomainError
from domain.values import slug

app = typer.Typer(
    help="Customer profiles: tier, contract, purchases and attributes per customer.", no_args_is_help=True
)

TenantOption = Annotated[str, typer.Option(help="The tenant whose customers these are.")]
T = TypeVar("T")
KNOWN = ("customer_id", "tier", "contract", "contract_until", "purchases")


class RowError(Exception):
    """A cell the profile cannot take: its column and what is wrong."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


@app.command("import")
def import_customers(
    file: Annotated[Path, typer.Argument(help="A CSV file with a header row (UTF-8).")],
    tenant: TenantOption,
    by: ByOption = "operator",
) -> None:
    """Set the profile of each customer in the file (a later row of the same customer wins); all or nothing."""
    profiles: list[tuple[str, Profile]] = []
    with progress("checking", "rows") as (bar, task):
        for line, row in _rows(file):
            try:
                profiles.append(_profile_of(row))
            except RowError as error:
                fail(f"{file}: row {line}, column {error.column}: {error}")
            bar.advance(task)
    with services_from(load_settings()) as services:
        try:
            position = services.desk.set_customer_profiles(tenant=tenant, profiles=profiles, by=operator(by), via=CLI)
        except DomainError as error:
            fail(str(error))
    said = "nothing changed" if position is None else f"recorded up to log position {position}"
    typer.echo(f"imported {counted(len(profiles), 'profile')}: {said}")


def _rows(file: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row with its line number, once the header is checked."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as opened:
            reader = csv.DictReader(opened, strict=True)
            _check_header(file, reader.fieldnames)
            for row in reader:
                if None in row or None in row.values():
                    fail(f"{file}: row {reader.line_num}: the row has not as many cells as the header")
                yield reader.line_num, row
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        fail(f"{file}: cannot read it as UTF-8 CSV: {error}")


def _check_header(file: Path, header: object) -> None:
    names = list(header) if isinstance(header, list) else []
    if "customer_id" not in names:
        fail(f"{file}: row 1: the header needs a customer_id column")
    extra = [n for n in names if n not in KNOWN]
    if len(extra) > ATTRIBUTES_MAX or len(set(names)) != len(names):
        fail(f"{file}: row 1: at most {ATTRIBUTES_MAX} attribute columns, each named once")
    for name in extra:
        try:
            slug(name, "attribute name")
        except DomainError as error:
            fail(f"{file}: row 1, column {name}: {error}")


def _profile_of(row: Mapping[str, str]) -> tuple[str, Profile]:
    customer_id = _checked("customer_id", lambda: identifier(row["customer_id"].strip(), "customer id"))
    tier = row.get("tier", "").strip() or None
    contract = row.get("contract", "").strip() or None
    until_text = row.get("contract_until", "").strip()
    until = _checked("contract_until", lambda: _date(until_text)) if until_text else None
    purchases = [p.strip() for p in row.get("purchases", "").split(";") if p.strip()]
    attributes = {name: _attribute(text.strip()) for name, text in row.items() if name not in KNOWN and text.strip()}
    _checked("tier", lambda: profile(tier=tier))
    _checked("contract", lambda: profile(contract=contract))
    _checked("purchases", lambda: profile(purchases=purchases))
    for name, value in attributes.items():
        _checked(name, lambda: profile(attributes={name: value}))  # noqa: B023 -- called at once
    whole = _checked(
        "contract_until",
        lambda: profile(tier=tier, contract=contract, contract_until=until, purchases=purchases, attributes=attributes),
    )
    return customer_id, whole


def _checked(column: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except (DomainError, ValueError) as error:
        raise RowError(column, str(error)) from None


def _date(text: str) -> date:
    if not ISO_DATE.fullmatch(text):
        msg = f"a date is written YYYY-MM-DD (got {text!r})"
        raise ValueError(msg)
    return date.fromisoformat(text)


def _attribute(text: str) -> AttributeValue:
    """A cell's typed value: true/false, a whole number, a date, else the text."""
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    if text.lstrip("-").isdigit() and len(text) <= 16:
        return int(text)
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    return text
