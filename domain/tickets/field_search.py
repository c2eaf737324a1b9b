"""Searching ticket lists by custom fields: each filter, `name:value`, read against the field's definition.

`field=severity:high` keeps the tickets whose field holds that value (a multi_enum field: holds
that option); `field_gte=due:2026-12-01` and `field_lte=` bound a number or date field. Only a
defined field can be searched: its definition says how to read the value (`3` as a number,
`2026-12-01` as a date) and which options exist. A personal field cannot be: its values are a
person's data (the requester's), and a list filtered by them would say whose tickets hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain import values
from domain.errors import InvalidValueError
from domain.tickets.fields import FieldCatalogue, FieldDefinition
from domain.values import FieldKind, FieldValue, Scalar

#: Filters per list parameter (and per saved view): a bound on the work one list request asks for.
FIELD_FILTERS_MAX = 20
_INTEGER = re.compile(r"[+-]?\d+")
_ORDERED = frozenset({FieldKind.NUMBER, FieldKind.DATE})


class Comparison(StrEnum):
    """How a filter compares a field's value with its own."""

    EQUALS = "eq"  # for a multi_enum field: holds the option
    AT_LEAST = "gte"
    AT_MOST = "lte"


#: The list parameters (and saved-view filters) that search custom fields, and how each compares.
PARAMETERS: Mapping[str, Comparison] = {
    "field": Comparison.EQUALS,
    "field_gte": Comparison.AT_LEAST,
    "field_lte": Comparison.AT_MOST,
}


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """One condition on a custom field: the field, its kind, how it compares, and the value it compares with."""

    name: str
    kind: FieldKind
    comparison: Comparison
    value: Scalar  # read as the field's kind: a number, an ISO-8601 date, an option, true or false, text


def searched(filters: Mapping[str, Any]) -> list[tuple[Comparison, str]]:
    """The custom-field filters among a list's filters (`PARAMETERS`), each as (comparison, `name:value`)."""
    found = []
    for parameter, comparison in PARAMETERS.items():
        given = filters.get(parameter) or []
        if not isinstance(given, list) or not all(isinstance(f, str) for f in given):
            msg = f"{parameter} is a list of name:value filters"
            raise InvalidValueError(msg)
        if len(given) > FIELD_FILTERS_MAX:
            msg = f"{parameter} may hold at most {FIELD_FILTERS_MAX} filters"
            raise InvalidValueError(msg)
        found += [(comparison, f) for f in given]
    return found


def conditions(
    catalogue: FieldCatalogue | None, filters: Iterable[tuple[Comparison, str]]
) -> tuple[FieldCondition, ...]:
    """The conditions the filters say, read against the tenant's definitions, or InvalidValueError saying why not."""
    found = []
    for comparison, text in filters:
        name, colon, raw = text.partition(":")
        if not colon:
            msg = f"a custom field filter is written name:value, e.g. severity:high (got {text[:80]!r})"
            raise InvalidValueError(msg)
        checked = values.slug(name, "custom field name")
        definition = None if catalogue is None else catalogue.definition(checked)
        found.append(condition(definition, checked, comparison, raw))
    return tuple(found)


def condition(definition: FieldDefinition | None, name: str, comparison: Comparison, raw: str) -> FieldCondition:
    """One filter's condition: `raw` read as the defined field's kind, within its options."""
    if definition is None:
        msg = f"custom field {name!r} has no definition, so it cannot be searched (define it: PUT /fields/{name})"
        raise InvalidValueError(msg)
    if definition.personal:
        msg = f"custom field {name!r} is personal data, so it cannot be searched"
        raise InvalidValueError(msg)
    kind = definition.kind
    if comparison is not Comparison.EQUALS and kind not in _ORDERED:
        msg = (
            f"custom field {name!r} is {kind.value}, so it cannot be searched with field_gte or field_lte "
            "(only number and date fields can)"
        )
        raise InvalidValueError(msg)
    try:
        value = _read(kind, raw)
    except InvalidValueError as error:
        msg = f"custom field {name!r} is {kind.value}, so it cannot be searched for {raw[:80]!r}: {error}"
        raise InvalidValueError(msg) from None
    if kind.has_options:
        definition.check_options((str(value),))
    return FieldCondition(name, kind, comparison, value)


def _read(kind: FieldKind, raw: str) -> Scalar:
    """A filter's text as a value of the field's kind (a multi_enum filter names one option)."""
    if kind is FieldKind.MULTI_ENUM:
        return values.slug(raw, "a multi_enum option")
    if kind is FieldKind.NUMBER:
        try:
            number: Any = int(raw) if _INTEGER.fullmatch(raw) else float(raw)
        except ValueError:
            number = raw  # refused below, saying what a number is
        parsed = FieldValue.parse(kind.value, number).value
    elif kind is FieldKind.BOOLEAN:
        parsed = FieldValue.parse(kind.value, {"true": True, "false": False}.get(raw, raw)).value
    else:
        parsed = FieldValue.parse(kind.value, raw).value
    if isinstance(parsed, tuple):  # only a multi_enum value is one, and it was read above
        raise TypeError(kind)
    return parsed
