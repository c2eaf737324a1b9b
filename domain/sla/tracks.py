"""One SLA target's cycles as the clock keeps them: what was measured, when it ran, how it was judged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.sla.calendar import BeyondHorizonError
from domain.sla.policy import Calendar
from domain.sla.stored_form import iso_text, parse_moment, parse_optional_moment


@dataclass(frozen=True, slots=True)
class Judgement:
    """The policy a finished cycle was judged under."""

    policy_id: str
    version: int
    target_minutes: int


@dataclass(slots=True)
class Track:
    """One target's current (or last) cycle."""

    cycle: int
    started_at: datetime
    measured: float = 0.0  # business minutes of closed running periods, each in the calendar then in force
    unmeasured: list[tuple[datetime, datetime]] = field(default_factory=list)  # closed while untracked
    running_since: datetime | None = None
    fulfilled_at: datetime | None = None
    breached_at: datetime | None = None
    pauses: int = 0
    judged: Judgement | None = None
    due_at_fulfilment: datetime | None = None

    def due(self, calendar: Calendar, minutes: float) -> Due:
        """When the running cycle's elapsed time reaches `minutes` of `calendar`'s business time, or no due and why."""
        assert self.running_since is not None
        return due_after(calendar, self.running_since, max(minutes - self.measured, 0.0))

    def as_dict(self) -> dict[str, Any]:
        """The cycle as plain JSON-safe values (moments as ISO-8601 strings)."""
        judged = self.judged
        return {
            "cycle": self.cycle,
            "started_at": self.started_at.isoformat(),
            "measured": self.measured,
            "unmeasured": [[start.isoformat(), end.isoformat()] for start, end in self.unmeasured],
            "running_since": iso_text(self.running_since),
            "fulfilled_at": iso_text(self.fulfilled_at),
            "breached_at": iso_text(self.breached_at),
            "pauses": self.pauses,
            "judged": None
            if judged is None
            else {"policy_id": judged.policy_id, "version": judged.version, "target_minutes": judged.target_minutes},
            "due_at_fulfilment": iso_text(self.due_at_fulfilment),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Track:
        """Rebuild from `as_dict` values."""
        judged = data["judged"]
        return cls(
            cycle=int(data["cycle"]),
            started_at=parse_moment(data["started_at"]),
            measured=float(data["measured"]),
            unmeasured=[(parse_moment(start), parse_moment(end)) for start, end in data["unmeasured"]],
            running_since=parse_optional_moment(data["running_since"]),
            fulfilled_at=parse_optional_moment(data["fulfilled_at"]),
            breached_at=parse_optional_moment(data["breached_at"]),
            pauses=int(data["pauses"]),
            judged=None
            if judged is None
            else Judgement(str(judged["policy_id"]), int(judged["version"]), int(judged["target_minutes"])),
            due_at_fulfilment=parse_optional_moment(data["due_at_fulfilment"]),
        )


@dataclass(frozen=True, slots=True)
class Due:
    """A due moment, or None and the reason there is none."""

    moment: datetime | None
    reason: str | None = None


def due_after(calendar: Calendar, start: datetime, minutes: float) -> Due:
    """`minutes` of the calendar's business time after `start`; past the calendar's horizon, no due."""
    try:
        return Due(calendar.add_business_minutes(start, minutes))
    except BeyondHorizonError as beyond:
        return Due(None, f"the calendar's working time reaches the target only {beyond.reason}")


def waiting(track: Track | None) -> bool:
    """Whether a cycle of a target that answers requester messages (next response, update) is under way."""
    return track is not None and track.fulfilled_at is None
