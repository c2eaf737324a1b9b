"""What the admins' configuration pages share: rows of a form read as lists, and refusals put in words.

A page's repeated rows (a workflow's states, a calendar's working hours) are inputs of the same
names, one per row, so `FormData.getlist` gives each column in row order. A row whose first column
is left empty is no row: the pages always offer one blank row, so a browser without scripts can
still add one by saving.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from starlette.datastructures import FormData

from domain.access import policy as access
from infrastructure.keys import Principal

#: The most rows of one kind a form may send (the schemas bound each list again, more tightly).
ROWS_MAX = 200


def listed(text: str) -> list[str]:
    """The items of a comma-separated field, stripped, without empty ones."""
    return [item.strip() for item in text.split(",") if item.strip()]


def rows(form: FormData, *columns: str) -> list[dict[str, str]]:
    """The form's rows of these columns (the first names the row; a row without it is left out)."""
    values = {column: [str(v) for v in form.getlist(column)][:ROWS_MAX] for column in columns}
    count = len(values[columns[0]])
    found = []
    for index in range(count):
        row = {c: (values[c][index].strip() if index < len(values[c]) else "") for c in columns}
        if row[columns[0]]:
            found.append(row)
    return found


def field(form: FormData, name: str, default: str = "") -> str:
    """One text field of the form, stripped (a file or a missing field is `default`)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def readable(error: ValidationError, names: dict[str, str] | None = None) -> str:
    """The first complaint of a schema, with where it is said as a person reads it ("state 2, name: ...")."""
    first = error.errors()[0]
    words = names or {}
    where = []
    for part in first["loc"]:
        if isinstance(part, int):
            where.append(str(part + 1))
        else:
            where.append(words.get(str(part), str(part).replace("_", " ")))
    place = " ".join(where)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{place}: {message}" if place else message


def admits(principal: Principal, actions: Sequence[str]) -> bool:
    """Whether the principal's role may take every one of these actions of the access policy."""
    return all(access.may(principal.role, action) for action in actions)
