"""One SLA target of one ticket as it stands at a moment: its state, due and warning moments, elapsed time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.sla.policy import AppliedPolicy, SlaTarget, TargetState
from domain.sla.stored_form import iso_text, parse_moment, parse_optional_moment, parse_with
from domain.sla.tracks import Judgement, Track, due_after


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetStatus:
    """One target of one ticket at a moment (what each field means: docs/sla.md)."""

    target: SlaTarget
    policy_id: str
    policy_version: int
    target_minutes: int
    state: TargetState
    cycle: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    elapsed_minutes: float
    remaining_minutes: float
    fulfilled_at: datetime | None
    breached_at: datetime | None
    pauses: int
    ended_at: datetime | None
    no_due_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (moments as ISO-8601 strings)."""
        return {
            "target": self.target.value,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "target_minutes": self.target_minutes,
            "state": self.state.value,
            "cycle": self.cycle,
            "started_at": self.started_at.isoformat(),
            "due_at": iso_text(self.due_at),
            "warn_at": iso_text(self.warn_at),
            "elapsed_minutes": self.elapsed_minutes,
            "remaining_minutes": self.remaining_minutes,
            "fulfilled_at": iso_text(self.fulfilled_at),
            "breached_at": iso_text(self.breached_at),
            "pauses": self.pauses,
            "ended_at": iso_text(self.ended_at),
            "no_due_reason": self.no_due_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetStatus:
        """Rebuild from `as_dict` values, or raise InvalidValueError."""
        return parse_with(
            "target status",
            lambda: cls(
                target=SlaTarget(data["target"]),
                policy_id=str(data["policy_id"]),
                policy_version=int(data["policy_version"]),
                target_minutes=int(data["target_minutes"]),
                state=TargetState(data["state"]),
                cycle=int(data["cycle"]),
                started_at=parse_moment(data["started_at"]),
                due_at=parse_optional_moment(data["due_at"]),
                warn_at=parse_optional_moment(data["warn_at"]),
                elapsed_minutes=float(data["elapsed_minutes"]),
                remaining_minutes=float(data["remaining_minutes"]),
                fulfilled_at=parse_optional_moment(data["fulfilled_at"]),
                breached_at=parse_optional_moment(data["breached_at"]),
                pauses=int(data["pauses"]),
                ended_at=parse_optional_moment(data["ended_at"]),
                no_due_reason=data.get("no_due_reason"),
            ),
        )


def report(
    target: SlaTarget, track: Track, policy: AppliedPolicy, at: datetime, ended_at: datetime | None
) -> TargetStatus:
    """How `track`, a cycle of `target` under `policy`, stands at `at` (`ended_at`: when the ticket closed)."""
    current = Judgement(policy.policy_id, policy.version, policy.terms.targets[target])
    if track.fulfilled_at is not None:
        state = TargetState.MET if track.breached_at is None else TargetState.BREACHED
        judged = track.judged or current
        return _target_status(ended_at, target, track, judged, state, track.measured, track.due_at_fulfilment, None)
    if track.running_since is None:
        state = TargetState.PAUSED if track.breached_at is None else TargetState.BREACHED
        return _target_status(ended_at, target, track, current, state, track.measured, None, None)
    minutes = current.target_minutes
    calendar = policy.calendar
    elapsed = track.measured + calendar.business_minutes_between(track.running_since, at)
    due = track.due(calendar, minutes)
    due_at = due.moment
    breached_at = track.breached_at or (due_at if due_at is not None and at > due_at else None)
    if breached_at is not None:
        return _target_status(
            ended_at, target, track, current, TargetState.BREACHED, elapsed, due_at, None, breached_at=breached_at
        )
    lead = max(minutes - policy.terms.warning_minutes - track.measured, 0.0)
    warn_at = due_after(calendar, track.running_since, lead).moment
    return _target_status(
        ended_at, target, track, current, TargetState.ACTIVE, elapsed, due_at, warn_at, no_due_reason=due.reason
    )


def _target_status(
    ended_at: datetime | None,
    target: SlaTarget,
    track: Track,
    judged: Judgement,
    state: TargetState,
    elapsed: float,
    due_at: datetime | None,
    warn_at: datetime | None,
    *,
    breached_at: datetime | None = None,
    no_due_reason: str | None = None,
) -> TargetStatus:
    return TargetStatus(
        target=target,
        policy_id=judged.policy_id,
        policy_version=judged.version,
        target_minutes=judged.target_minutes,
        state=state,
        cycle=track.cycle,
        started_at=track.started_at,
        due_at=due_at,
        warn_at=warn_at,
        elapsed_minutes=elapsed,
        remaining_minutes=judged.target_minutes - elapsed,
        fulfilled_at=track.fulfilled_at,
        breached_at=breached_at or track.breached_at,
        pauses=track.pauses,
        ended_at=ended_at,
        no_due_reason=no_due_reason,
    )
