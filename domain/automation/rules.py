"""A tenant's rules: triggers (act on ticket events) and macros (action sets agents apply), versioned.

One rule book per tenant (its id follows from the tenant), so the trigger process reads every
rule of a tenant in one load, in order. Each definition of a rule records its whole new version
(`TriggerDefined`, `MacroDefined`, version 1 for the first), so every version stays readable
and the changes a trigger makes can name the version that made them. Disabling a trigger is a
new version with `enabled` false: its history stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.automation import actions as action_list
from domain.automation import conditions as condition_tree
from domain.automation.actions import Action
from domain.automation.conditions import Condition
from domain.errors import InvalidRuleError, InvalidValueError
from domain.provenance import Recorded, TenantOwned

_BOOKS = uuid.UUID("5a0c7e2d-91b4-4c3f-8d6e-2f1a9b7c4e30")
RULES_MAX = 500
POSITION_MAX = 10_000
#: The ticket events a trigger can run on. `updated` is every event after the opening.
ON = ("created", "updated", "commented", "status_changed", "sla_warning", "sla_breach", "suggested")


@dataclass(frozen=True, slots=True)
class Trigger:
    """One version of a trigger."""

    name: str
    version: int
    title: str
    position: int
    enabled: bool
    on: tuple[str, ...]
    conditions: Condition
    actions: tuple[Action, ...]

    def runs_on(self, kind: str) -> bool:
        """Whether this trigger runs on an event of this kind."""
        return kind in self.on or ("updated" in self.on and kind != "created")


@dataclass(frozen=True, slots=True)
class TimedRule:
    """One version of a timed rule (an automation): conditions that count hours, looked at every so often."""

    name: str
    version: int
    title: str
    position: int
    enabled: bool
    conditions: Condition
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Macro:
    """One version of a macro."""

    name: str
    version: int
    title: str
    actions: tuple[Action, ...]


class RuleBook(TenantOwned):
    """Every trigger and macro of a tenant, each at its latest version (earlier ones are in the events)."""

    class Event(TenantOwned.Event):
        """Base of rule-book events: whose book, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first rule is about to be recorded."""

    class TriggerDefined(Event):
        name: str
        version: int
        title: str
        position: int
        enabled: bool
        on: list[str]
        conditions: dict[str, Any]
        actions: list[dict[str, Any]]

    class AutomationDefined(Event):
        name: str
        version: int
        title: str
        position: int
        enabled: bool
        conditions: dict[str, Any]
        actions: list[dict[str, Any]]

    class MacroDefined(Event):
        name: str
        version: int
        title: str
        actions: list[dict[str, Any]]

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's rule book."""
        return uuid.uuid5(_BOOKS, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> RuleBook:
        """A new, empty rule book for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(
        self,
        *,
        tenant: str,
    ) -> None:
        self.tenant = tenant
        self.triggers: dict[str, dict[str, Any]] = {}  # name -> the latest TriggerDefined's fields
        self.macros: dict[str, dict[str, Any]] = {}
        self.automations: dict[str, dict[str, Any]] = {}

    # --- triggers ----------------------------------------------------------------------------------

    def define_trigger(
        self,
        name: str,
        *,
        title: str,
        position: int,
        enabled: bool,
        on: Iterable[str],
        conditions: Mapping[str, Any] | None,
        actions: Iterable[Mapping[str, Any]],
    ) -> None:
        """Define a trigger or change it (a new version); the same definition records nothing."""
        checked = values.slug(name, "trigger name")
        kinds = sorted(set(on))
        unknown = [k for k in kinds if k not in ON]
        if not kinds or unknown:
            raise InvalidRuleError("on", f"a list of some of {', '.join(ON)} (got {', '.join(unknown) or 'none'})")
        definition: dict[str, Any] = {
            "title": values.text(title, "title"),
            "position": _position(position),
            "enabled": _flag(enabled, "enabled"),
            "on": kinds,
            "conditions": condition_tree.parse(conditions).as_dict(),
            "actions": action_list.shown(action_list.parse(list(actions))),
        }
        self._check_room(checked, self.triggers)
        current = self.triggers.get(checked)
        if current is not None and {k: current[k] for k in definition} == definition:
            return
        version = 1 if current is None else current["version"] + 1
        self._trigger_defined(name=checked, version=version, **definition)

    @event(TriggerDefined)
    def _trigger_defined(
        self,
        *,
        name: str,
        version: int,
        title: str,
        position: int,
        enabled: bool,
        on: list[str],
        conditions: dict[str, Any],
        actions: list[dict[str, Any]],
    ) -> None:
        entry = {"version": version, "title": title, "position": position, "enabled": enabled, "on": on}
        self.triggers = {**self.triggers, name: {**entry, "conditions": conditions, "actions": actions}}

    def trigger(self, name: str) -> Trigger | None:
        """A trigger at its latest version, or None."""
        found = self.triggers.get(name)
        return None if found is None else _trigger(name, found)

    def enabled_triggers(self) -> list[Trigger]:
        """The enabled triggers, in the order they run: by position, then name."""
        ordered = sorted(self.triggers.items(), key=lambda item: (item[1]["position"], item[0]))
        return [_trigger(name, found) for name, found in ordered if found["enabled"]]

    # --- timed rules -------------------------------------------------------------------------------

    def define_automation(
        self,
        name: str,
        *,
        title: str,
        position: int,
        enabled: bool,
        conditions: Mapping[str, Any],
        actions: Iterable[Mapping[str, Any]],
    ) -> None:
        """Define a timed rule or change it (a new version); it must count hours, so it cannot act at once."""
        checked = values.slug(name, "automation name")
        condition = condition_tree.parse(conditions, timed=True)
        if not condition_tree.time_fields(condition):
            raise InvalidRuleError("conditions", "a timed rule counts hours: hours_since_created, ... (gte, lte)")
        definition: dict[str, Any] = {
            "title": values.text(title, "title"),
            "position": _position(position),
            "enabled": _flag(enabled, "enabled"),
            "conditions": condition.as_dict(),
            "actions": action_list.shown(action_list.parse(list(actions))),
        }
        self._check_room(checked, self.automations)
        current = self.automations.get(checked)
        if current is not None and {k: current[k] for k in definition} == definition:
            return
        version = 1 if current is None else current["version"] + 1
        self._automation_defined(name=checked, version=version, **definition)

    @event(AutomationDefined)
    def _automation_defined(
        self,
        *,
        name: str,
        version: int,
        title: str,
        position: int,
        enabled: bool,
        conditions: dict[str, Any],
        actions: list[dict[str, Any]],
    ) -> None:
        entry = {"version": version, "title": title, "position": position, "enabled": enabled}
        self.automations = {**self.automations, name: {**entry, "conditions": conditions, "actions": actions}}

    def automation(self, name: str) -> TimedRule | None:
        """A timed rule at its latest version, or None."""
        found = self.automations.get(name)
        return None if found is None else _timed(name, found)

    def enabled_automations(self) -> list[TimedRule]:
        """The enabled timed rules, in the order they are looked at: by position, then name."""
        ordered = sorted(self.automations.items(), key=lambda item: (item[1]["position"], item[0]))
        return [_timed(name, found) for name, found in ordered if found["enabled"]]

    # --- macros ------------------------------------------------------------------------------------

    def define_macro(self, name: str, *, title: str, actions: Iterable[Mapping[str, Any]]) -> None:
        """Define a macro or change it (a new version); the same definition records nothing."""
        checked = values.slug(name, "macro name")
        definition: dict[str, Any] = {
            "title": values.text(title, "title"),
            "actions": action_list.shown(action_list.parse(list(actions), macro=True)),
        }
        self._check_room(checked, self.macros)
        current = self.macros.get(checked)
        if current is not None and {k: current[k] for k in definition} == definition:
            return
        version = 1 if current is None else current["version"] + 1
        self._macro_defined(name=checked, version=version, **definition)

    @event(MacroDefined)
    def _macro_defined(
        self,
        *,
        name: str,
        version: int,
        title: str,
        actions: list[dict[str, Any]],
    ) -> None:
        self.macros = {**self.macros, name: {"version": version, "title": title, "actions": actions}}

    def macro(self, name: str) -> Macro | None:
        """A macro at its latest version, or None."""
        found = self.macros.get(name)
        if found is None:
            return None
        return Macro(name, found["version"], found["title"], action_list.parse(found["actions"]))

    def _check_room(self, name: str, rules: Mapping[str, Any]) -> None:
        if name not in rules and len(rules) >= RULES_MAX:
            msg = f"a tenant may have at most {RULES_MAX} rules of a kind"
            raise InvalidValueError(msg)


def _trigger(name: str, found: Mapping[str, Any]) -> Trigger:
    return Trigger(
        name=name,
        version=found["version"],
        title=found["title"],
        position=found["position"],
        enabled=found["enabled"],
        on=tuple(found["on"]),
        conditions=condition_tree.parse(found["conditions"]),
        actions=action_list.parse(found["actions"]),
    )


def _timed(name: str, found: Mapping[str, Any]) -> TimedRule:
    return TimedRule(
        name=name,
        version=found["version"],
        title=found["title"],
        position=found["position"],
        enabled=found["enabled"],
        conditions=condition_tree.parse(found["conditions"], timed=True),
        actions=action_list.parse(found["actions"]),
    )


def _position(position: Any) -> int:
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= POSITION_MAX:
        raise InvalidRuleError("position", f"a whole number from 0 to {POSITION_MAX}")
    return position


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRuleError(what, "true or false")
    return value
