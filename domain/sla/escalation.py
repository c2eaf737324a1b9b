"""What a policy does when a target is breached: raise the priority, reassign, notify supervisors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.sla.stored_form import ensure_collection, parse_with, string_list
from domain.values import Priority


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """What happens when a target is breached: raise the priority, reassign, notify supervisors.

    `notify` names the supervisors to @mention in an internal note.
    """

    raise_priority_to: Priority | None = None
    reassign_group: str | None = None
    notify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.raise_priority_to is not None:
            object.__setattr__(self, "raise_priority_to", values.priority(self.raise_priority_to))
        if self.reassign_group is not None:
            identifier(self.reassign_group, "escalation group")
        ensure_collection(self.notify, "supervisors to notify")
        notify = tuple(identifier(actor, "supervisor to notify") for actor in self.notify)
        if len(set(notify)) != len(notify):
            msg = f"supervisors to notify must not repeat (got {list(notify)})"
            raise InvalidValueError(msg)
        object.__setattr__(self, "notify", notify)
        if self.raise_priority_to is None and self.reassign_group is None and not notify:
            msg = "an escalation must raise the priority, reassign to a group, or notify someone"
            raise InvalidValueError(msg)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values."""
        priority = None if self.raise_priority_to is None else self.raise_priority_to.value
        return {"raise_priority_to": priority, "reassign_group": self.reassign_group, "notify": list(self.notify)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Escalation:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return parse_with(
            "escalation",
            lambda: cls(
                raise_priority_to=data.get("raise_priority_to"),
                reassign_group=data.get("reassign_group"),
                notify=tuple(string_list(data.get("notify", []), "notify")),
            ),
        )
