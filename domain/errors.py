"""Errors the domain raises when a command cannot be carried out.

Each one means the command was rejected and nothing was stored.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was rejected; no event was recorded."""


class InvalidValueError(DomainError):
    """A value given to a command is malformed or out of range."""


class NotFoundError(DomainError):
    """Nothing by that name or id exists (for the caller)."""


class TicketNotFoundError(NotFoundError):
    """No ticket has the given id (or it did not exist at the given moment)."""


class AlreadyExistsError(DomainError):
    """Something with that name already exists (for example a saved view)."""


class IllegalTransitionError(DomainError):
    """The workflow does not allow moving the ticket to the requested status; `allowed` are the moves it allows."""

    def __init__(self, message: str, *, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed


class AlreadyClaimedError(DomainError):
    """Another agent has the ticket already; `assignee` names them."""

    def __init__(self, message: str, *, assignee: str) -> None:
        super().__init__(message)
        self.assignee = assignee


class TicketClosedError(DomainError):
    """The ticket is closed, which is final: it accepts no further changes."""


class NotPermittedError(DomainError):
    """The actor may not carry out this command (for example a requester writing an internal note)."""


class RaceLostError(DomainError):
    """Another command changed the same record between this one's read and its save: nothing of this one was stored.

    `version` is the record's version the other command left. Commands are carried out again on
    the record as it now is (domain/races.py), so a caller sees this only when the record kept
    changing for longer than that allows.
    """

    def __init__(self, record_id: object, version: int) -> None:
        super().__init__(f"another request changed {record_id} at the same moment (now version {version}); retry")
        self.record_id = record_id
        self.version = version


#: The ticket version a command may act on: one, or any of several (none of an empty set).
ExpectedVersion = int | frozenset[int]


class VersionMismatchError(DomainError):
    """The caller's expected ticket version is not the current version."""

    def __init__(self, expected: ExpectedVersion, actual: int) -> None:
        super().__init__(f"expected {_versions(expected)}, but the current version is {actual}")
        self.expected = expected
        self.actual = actual


def _versions(expected: ExpectedVersion) -> str:
    if isinstance(expected, int):
        return f"ticket version {expected}"
    if not expected:
        return "no ticket version that can be current"
    return f"ticket version {' or '.join(str(version) for version in sorted(expected))}"


class InvalidRuleError(InvalidValueError):
    """A rule that cannot be recorded; `path` points at the part at fault (`conditions/all/1/op`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class MissingFieldsError(InvalidValueError):
    """A move needs custom fields the ticket does not have yet; `missing` names them."""

    def __init__(self, message: str, *, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


class DisabledError(DomainError):
    """What the command needs is disabled (a webhook endpoint): enable it first."""
