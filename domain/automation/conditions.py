"""Conditions of rules: `all`/`any` trees of tests on a ticket's fields and on the event that happened to it.

A condition is plain JSON, checked once when a rule is defined (`parse`), so a rule on record is
always one that evaluates; an error names the path of the offending part (`conditions/all/1/op`):

    {"all": [{"field": "priority", "op": "equals", "value": "urgent"},
             {"field": "via", "op": "equals", "value": "email"},
             {"any": [{"field": "tags", "op": "contains", "value": "vip"},
                      {"field": "status", "op": "changed_to", "value": "open"}]}]}

Fields are the ticket's as the event left it (`TICKET_FIELDS`, `custom_fields.<name>`) and the
event's own (`EVENT_FIELDS`): its kind, the channel it came through, whether a comment is
public; and the requester's customer profile (`CUSTOMER_FIELDS`: `customer.tier`, triggers only).
`changed`, `changed_to` and `changed_from` test what the event changed, in the names the
history uses. Evaluation (`holds`) is a pure function of the facts, so it replays alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidRuleError

#: Checks a field name a condition tests (`name`, `path`, `op`), returning it or raising InvalidRuleError.
FieldCheck = Callable[[Any, str, str], str]

#: The ticket's fields a condition may test (and `custom_fields.<name>`).
TICKET_FIELDS = frozenset(
    {
        "status",
        "status_category",
        "priority",
        "type",
        "group",
        "assignee",
        "channel",
        "requester_id",
        "organisation",
        "tags",
        "workflow",
        "title",
    }
)
#: The event's fields: its kind (`created`, `commented`, ...), its channel, and of a comment whether it is public.
EVENT_FIELDS = frozenset({"event", "via", "comment.public", "actor_kind"})
#: The requester's customer profile as the trigger runs (docs/customers.md): its tier, or null without one.
CUSTOMER_FIELDS = frozenset({"customer.tier"})
#: What timed rules count, in hours (a fraction for less), at the moment they look: each from its moment.
TIME_FIELDS = {
    "hours_since_created": "created_at",
    "hours_since_updated": "updated_at",
    "hours_in_status": "status_since",
    "hours_since_solved": "solved_at",
    "hours_until_sla_due": "sla_due_at",
    "hours_since_customer_contact": "last_contact_customer_at",  # public messages only
    "hours_since_agent_contact": "last_contact_agent_at",
}
#: Tests of a field's value, and tests of what the event changed.
VALUE_OPS = frozenset(
    {"equals", "not_equals", "in", "not_in", "contains", "not_contains", "is_set", "is_not_set", "gte", "lte"}
)
CHANGE_OPS = frozenset({"changed", "changed_to", "changed_from"})
CONDITIONS_MAX = 50
DEPTH_MAX = 4


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition sees: the ticket's fields after the event, the event's fields, and what it changed."""

    fields: Mapping[str, Any]
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (old, new)

    def value(self, name: str) -> Any:
        """A field's value (None: not set)."""
        return self.fields.get(name)


@dataclass(frozen=True, slots=True)
class Check:
    """One test: `field` `op` `value`."""

    field: str
    op: str
    value: Any = None

    def holds(self, facts: Facts) -> bool:
        """Whether the test holds of these facts."""
        if self.op in CHANGE_OPS:
            return self._changed(facts)
        found = facts.value(self.field)
        return _VALUE_TESTS[self.op](found, self.value)

    def _changed(self, facts: Facts) -> bool:
        change = facts.changes.get(self.field)
        if change is None:
            return False
        old, new = change
        if self.op == "changed":
            return True
        return _equal(new if self.op == "changed_to" else old, self.value)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        shown: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in {"is_set", "is_not_set", "changed"}:
            shown["value"] = self.value
        return shown


@dataclass(frozen=True, slots=True)
class Condition:
    """All (or any) of its parts hold. An empty `all` holds always: a rule without conditions."""

    mode: str  # "all" or "any"
    parts: tuple[Condition | Check, ...]

    def holds(self, facts: Facts) -> bool:
        """Whether the condition holds of these facts."""
        results = (part.holds(facts) for part in self.parts)
        return all(results) if self.mode == "all" else any(results)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {self.mode: [part.as_dict() for part in self.parts]}


ALWAYS = Condition("all", ())


def parse(raw: Any, path: str = "conditions", *, timed: bool = False, fields: FieldCheck | None = None) -> Condition:
    """A condition tree from its JSON form (`timed`: a timed rule's, which may count hours), or InvalidRuleError.

    `fields` checks the field names instead of the rules' own (a webhook's filter tests other facts).
    """
    if raw is None:
        return ALWAYS
    return _tree(raw, path, 1, [0], timed, fields)


def time_fields(condition: Condition) -> list[str]:
    """The time fields a condition counts, in order of first use (what makes one instance of a timed rule)."""
    found: list[str] = []
    for part in condition.parts:
        names = time_fields(part) if isinstance(part, Condition) else [part.field]
        found += [n for n in names if n in TIME_FIELDS and n not in found]
    return found


def _tree(raw: Any, path: str, depth: int, count: list[int], timed: bool, fields: FieldCheck | None) -> Condition:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in {"all", "any"}:
        raise InvalidRuleError(path, 'a condition is {"all": [...]} or {"any": [...]}')
    if depth > DEPTH_MAX:
        raise InvalidRuleError(path, f"conditions nest at most {DEPTH_MAX} deep")
    mode = next(iter(raw))
    items = raw[mode]
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise InvalidRuleError(f"{path}/{mode}", "a list of tests and conditions")
    parts: list[Condition | Check] = []
    for n, item in enumerate(items):
        count[0] += 1
        if count[0] > CONDITIONS_MAX:
            raise InvalidRuleError(f"{path}/{mode}/{n}", f"a rule has at most {CONDITIONS_MAX} tests")
        here = f"{path}/{mode}/{n}"
        is_tree = isinstance(item, Mapping) and set(item) <= {"all", "any"}
        parts.append(
            _tree(item, here, depth + 1, count, timed, fields) if is_tree else _test(item, here, timed, fields)
        )
    return Condition(mode, tuple(parts))


def _test(raw: Any, path: str, timed: bool, fields: FieldCheck | None) -> Check:
    if not isinstance(raw, Mapping) or not {"field", "op"} <= set(raw) or set(raw) - {"field", "op", "value"}:
        raise InvalidRuleError(path, 'a test is {"field", "op", "value"}')
    name, op = raw["field"], raw["op"]
    if fields is not None:
        fields(name, f"{path}/field", op)
    elif name in TIME_FIELDS:
        return _time_test(raw, path, timed)
    elif name in CUSTOMER_FIELDS:
        _customer_test(op, path, timed)
    else:
        check_field(name, f"{path}/field", changes=op in CHANGE_OPS)
    if op not in VALUE_OPS | CHANGE_OPS:
        known = ", ".join(sorted(VALUE_OPS | CHANGE_OPS))
        raise InvalidRuleError(f"{path}/op", f"unknown operator {op!r} (one of {known})")
    needs_value = op not in {"is_set", "is_not_set", "changed"}
    if needs_value != ("value" in raw):
        raise InvalidRuleError(f"{path}/value", f"{op} {'takes' if needs_value else 'takes no'} value")
    value = raw.get("value")
    if op in {"in", "not_in"} and (not isinstance(value, list) or not value or len(value) > 100):
        raise InvalidRuleError(f"{path}/value", f"{op} takes a list of 1 to 100 values")
    if needs_value and not _plain(value):
        raise InvalidRuleError(f"{path}/value", "a value is text, a number, true/false, null or a list of them")
    return Check(name, op, value)


def _customer_test(op: Any, path: str, timed: bool) -> None:
    # The profile is looked up when a trigger runs on an event; a timed rule reads the read model, which has none.
    if timed:
        raise InvalidRuleError(f"{path}/field", "customer fields are seen by triggers, not by timed rules")
    if op in CHANGE_OPS:
        raise InvalidRuleError(f"{path}/op", "a customer field is tested by value: the event does not change it")


def _time_test(raw: Mapping[str, Any], path: str, timed: bool) -> Check:
    if not timed:
        raise InvalidRuleError(f"{path}/field", "hours are counted by timed rules (/automations), not by triggers")
    if raw["op"] not in {"gte", "lte", "is_set", "is_not_set"}:
        raise InvalidRuleError(f"{path}/op", "hours are compared with gte or lte (or is_set, is_not_set)")
    value = raw.get("value")
    needs_value = raw["op"] in {"gte", "lte"}
    is_number = isinstance(value, int | float) and not isinstance(value, bool) and -100_000 <= value <= 100_000
    if needs_value != ("value" in raw) or (needs_value and not is_number):
        said = f"{raw['op']} takes a number of hours" if needs_value else f"{raw['op']} takes no value"
        raise InvalidRuleError(f"{path}/value", said)
    return Check(raw["field"], raw["op"], value)


def check_field(name: Any, path: str, *, changes: bool = False) -> str:
    """`name` if conditions may test it (a change test: only ticket fields), else InvalidRuleError."""
    if not isinstance(name, str):
        raise InvalidRuleError(path, "a field name is text")
    custom = name.startswith("custom_fields.") and len(name) > len("custom_fields.")
    known = name in TICKET_FIELDS or custom or (not changes and name in EVENT_FIELDS)
    if not known:
        allowed = ", ".join(sorted(TICKET_FIELDS | (set() if changes else EVENT_FIELDS | set(TIME_FIELDS))))
        raise InvalidRuleError(path, f"unknown field {name!r} (one of {allowed}, custom_fields.<name>)")
    return name


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) <= 100 and all(_plain(v) and not isinstance(v, list) for v in value)
    return value is None or (
        isinstance(value, str | int | float | bool) and (not isinstance(value, str) or len(value) <= 1000)
    )


def _equal(found: Any, wanted: Any) -> bool:
    if isinstance(found, list | tuple | set | frozenset):
        return isinstance(wanted, list) and sorted(map(str, found)) == sorted(map(str, wanted))
    if isinstance(found, bool) or isinstance(wanted, bool):
        return found is wanted  # true is not 1
    return bool(found == wanted)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _contains(found: Any, wanted: Any) -> bool:
    if isinstance(found, list | tuple | set | frozenset):
        return wanted in found
    return isinstance(found, str) and isinstance(wanted, str) and wanted.casefold() in found.casefold()


_VALUE_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equal,
    "not_equals": lambda found, wanted: not _equal(found, wanted),
    "in": lambda found, wanted: any(_equal(found, w) for w in wanted),
    "not_in": lambda found, wanted: not any(_equal(found, w) for w in wanted),
    "contains": _contains,
    "not_contains": lambda found, wanted: not _contains(found, wanted),
    "is_set": lambda found, _: found not in (None, "", [], ()),
    "is_not_set": lambda found, _: found in (None, "", [], ()),
    "gte": lambda found, wanted: _number(found) and _number(wanted) and found >= wanted,
    "lte": lambda found, wanted: _number(found) and _number(wanted) and found <= wanted,
}
