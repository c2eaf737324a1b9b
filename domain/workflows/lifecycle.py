"""A workflow's lifecycle: its states, each of a category, and the moves between them.

States are named by the tenant (`waiting_for_parts`); each has one of six categories (`new`,
`open`, `pending`, `on_hold`, `solved`, `closed`: the `Status` values) and the categories are
what the rest of the desk reads: SLA clocks pause in `pending` and `on_hold` states as a policy
says, queues show the states of unsolved categories, reports count moves into `solved` and
`closed`. A state of category `closed` is final. A transition may be limited to some roles and
may require custom fields to be set (a resolution code, say); so may a state (`required_fields`),
for every transition into it, whichever state the ticket comes from. The initial state requires
none: a ticket is opened there without a move.

The standard lifecycle (`STANDARD`) is the one every ticket ran before workflows could be
defined: its states are the six categories themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain import values
from domain.access.policy import Role
from domain.errors import IllegalTransitionError, InvalidValueError, MissingFieldsError, NotPermittedError
from domain.tickets.workflow import DEFAULT_WORKFLOW, Status, Workflow

#: The roles a transition may be limited to: those that may move tickets at all.
ROLES = (Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
STATES_MAX = 50
TRANSITIONS_MAX = 500
REQUIRED_MAX = 20
TYPES_MAX = 50
#: Categories a ticket may start in: a new ticket is neither solved nor closed.
START_CATEGORIES = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
UNSOLVED_CATEGORIES = START_CATEGORIES


@dataclass(frozen=True, slots=True)
class Move:
    """A transition: from one state to another, for some roles (None: any), once some fields are set."""

    source: str
    target: str
    roles: frozenset[str] | None = None
    requires: tuple[str, ...] = ()

    def allows(self, role: str) -> bool:
        """Whether a caller of this role may make the move."""
        return self.roles is None or role in self.roles


@dataclass(frozen=True)
class Lifecycle:
    """The states of a workflow with their categories, its initial state, moves and the ticket types it serves."""

    states: Mapping[str, Status]
    moves: tuple[Move, ...]
    initial: str
    ticket_types: frozenset[str] = field(default_factory=frozenset)
    allow_open_children: bool = False  # whether a parent may be solved while children are still open
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # state -> fields a move into it needs

    def __post_init__(self) -> None:
        self._validate()

    def category_of(self, state: str) -> Status:
        """The category of one of this lifecycle's states."""
        try:
            return self.states[state]
        except KeyError:
            msg = f"the workflow has no state {state!r}; its states: {', '.join(self.states)}"
            raise InvalidValueError(msg) from None

    def first_closed_state(self) -> str | None:
        """The first state of category closed, in the order defined (where a merge closes a ticket); None if none."""
        return next((state for state, category in self.states.items() if category is Status.CLOSED), None)

    def moves_from(self, state: str) -> list[Move]:
        """Every move out of a state, in the order defined."""
        return [m for m in self.moves if m.source == state]

    def requirements(self, move: Move) -> tuple[str, ...]:
        """The custom fields a move needs set: its own `requires`, then its target state's `required_fields`."""
        return tuple(dict.fromkeys((*move.requires, *self.required.get(move.target, ()))))

    def move(self, source: str, target: str, *, role: str, present: Iterable[str], system: bool = False) -> Move:
        """The move from `source` to `target` for a caller of `role` on a ticket with fields `present`, or raise.

        An undefined move raises IllegalTransitionError naming the allowed targets (409); a move
        the role may not make, NotPermittedError (403); a move whose required fields (its own, and
        those of the state it goes into) are not all set, MissingFieldsError (422). A `system`
        caller (a rule an admin configured, the SLA watcher) is not held to the roles, but is to
        the fields.
        """
        self.category_of(target)  # a state the workflow does not have is not a move at all (422)
        found = next((m for m in self.moves_from(source) if m.target == target), None)
        if found is None:
            allowed = [m.target for m in self.moves_from(source) if system or m.allows(role)]
            listed = ", ".join(allowed) or "none (it is final)"
            msg = f"a ticket cannot move from '{source}' to '{target}'; allowed from '{source}': {listed}"
            raise IllegalTransitionError(msg, allowed=allowed)
        if not (system or found.allows(role)):
            msg = f"a {role} may not move a ticket from '{source}' to '{target}'"
            raise NotPermittedError(msg)
        have = set(present)
        missing = [name for name in self.requirements(found) if name not in have]
        if missing:
            msg = f"moving to '{target}' requires the custom field(s) {', '.join(missing)} to be set"
            raise MissingFieldsError(msg, missing=missing)
        return found

    # --- stored form -----------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The definition as plain JSON values (what an event stores, what the API shows)."""
        return {
            "states": [
                {"name": name, "category": category.value, "required_fields": list(self.required.get(name, ()))}
                for name, category in self.states.items()
            ],
            "transitions": [_move_dict(m) for m in self.moves],
            "initial": self.initial,
            "ticket_types": sorted(self.ticket_types),
            "allow_open_children": self.allow_open_children,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lifecycle:
        """A lifecycle from its definition (as `as_dict` gives it), or InvalidValueError saying what is wrong."""
        states, required = _states(data.get("states"))
        moves = tuple(_move(m) for m in _listed(data.get("transitions"), "transitions", TRANSITIONS_MAX))
        types = frozenset(
            values.slug(_text(t, "a ticket type"), "a ticket type")
            for t in _listed(data.get("ticket_types", []), "ticket_types", TYPES_MAX)
        )
        initial = data.get("initial")
        if not isinstance(initial, str):
            msg = "initial must name one of the workflow's states"
            raise InvalidValueError(msg)
        children = data.get("allow_open_children", False)
        if not isinstance(children, bool):
            msg = "allow_open_children must be true or false"
            raise InvalidValueError(msg)
        return cls(
            states=states,
            moves=moves,
            initial=initial,
            ticket_types=types,
            allow_open_children=children,
            required=required,
        )

    def _validate(self) -> None:
        if self.initial not in self.states:
            msg = f"the initial state {self.initial!r} is not one of the workflow's states"
            raise InvalidValueError(msg)
        if self.states[self.initial] not in START_CATEGORIES:
            category = self.states[self.initial]
            msg = f"the initial state must be of category new, open, pending or on_hold (not {category})"
            raise InvalidValueError(msg)
        for state in self.required:
            if state not in self.states:
                msg = f"required fields are given for {state!r}, not a state of the workflow"
                raise InvalidValueError(msg)
        if self.required.get(self.initial):
            msg = (
                f"the initial state {self.initial!r} cannot require fields: tickets are opened there without a move "
                "(require them on the transitions out of it, or on a later state)"
            )
            raise InvalidValueError(msg)
        seen: set[tuple[str, str]] = set()
        for m in self.moves:
            for end in (m.source, m.target):
                if end not in self.states:
                    msg = f"the transition {m.source} -> {m.target} names {end!r}, not a state of the workflow"
                    raise InvalidValueError(msg)
            if self.states[m.source] is Status.CLOSED:
                msg = f"a workflow may not allow leaving {m.source!r}: states of category closed are final"
                raise InvalidValueError(msg)
            if m.source == m.target or (m.source, m.target) in seen:
                msg = f"the transition {m.source} -> {m.target} is a loop or is listed twice"
                raise InvalidValueError(msg)
            seen.add((m.source, m.target))


def _states(raw: Any) -> tuple[dict[str, Status], dict[str, tuple[str, ...]]]:
    """The states with their categories, and the fields each requires (definitions stored before name none)."""
    states: dict[str, Status] = {}
    required: dict[str, tuple[str, ...]] = {}
    for item in _listed(raw, "states", STATES_MAX):
        if not isinstance(item, Mapping):
            msg = "each state is an object with a name, a category and optionally required_fields"
            raise InvalidValueError(msg)
        name = values.slug(_text(item.get("name"), "a state's name"), "a state's name")
        if name in states:
            msg = f"the state {name!r} is listed twice"
            raise InvalidValueError(msg)
        states[name] = values.choice(Status, _text(item.get("category"), "a state's category"), "a state's category")
        fields = _required(item.get("required_fields", []), "required_fields")
        if fields:
            required[name] = fields
    if not states:
        msg = "a workflow needs at least one state"
        raise InvalidValueError(msg)
    return states, required


def _required(raw: Any, what: str) -> tuple[str, ...]:
    """Custom field names a move or a state requires, in the order given."""
    return tuple(
        values.slug(_text(f, "a required field"), "a required field") for f in _listed(raw, what, REQUIRED_MAX)
    )


def _move(raw: Any) -> Move:
    if not isinstance(raw, Mapping):
        msg = "each transition is an object with from, to, and optionally roles and requires"
        raise InvalidValueError(msg)
    roles = raw.get("roles")
    allowed = None if roles is None else frozenset(_role(r) for r in _listed(roles, "roles", len(ROLES)))
    requires = _required(raw.get("requires", []), "requires")
    source, target = _text(raw.get("from"), "a transition's from"), _text(raw.get("to"), "a transition's to")
    return Move(source=source, target=target, roles=allowed, requires=requires)


def _role(raw: Any) -> str:
    role = values.choice(Role, _text(raw, "a transition's role"), "a transition's role")
    if role not in ROLES:
        msg = f"a transition's role must be one of {', '.join(ROLES)} (got {role.value!r})"
        raise InvalidValueError(msg)
    return role.value


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, str):
        msg = f"{what} must be a string"
        raise InvalidValueError(msg)
    return raw


def _move_dict(m: Move) -> dict[str, Any]:
    return {
        "from": m.source,
        "to": m.target,
        "roles": None if m.roles is None else sorted(m.roles),
        "requires": list(m.requires),
    }


def _listed(raw: Any, what: str, most: int) -> list[Any]:
    if not isinstance(raw, list):
        msg = f"{what} must be a list"
        raise InvalidValueError(msg)
    if len(raw) > most:
        msg = f"{what} may list at most {most} items"
        raise InvalidValueError(msg)
    return raw


def standard(workflow: Workflow) -> Lifecycle:
    """A lifecycle whose states are the six categories, moving as `workflow` says (the standard one by default)."""
    return Lifecycle(
        states={status.value: status for status in Status},
        moves=tuple(
            Move(source.value, target.value)
            for source in Status
            for target in sorted(workflow.allowed_from(source), key=list(Status).index)
        ),
        initial=Status.NEW.value,
    )


#: The lifecycle every ticket ran before workflows could be defined.
STANDARD = standard(DEFAULT_WORKFLOW)
