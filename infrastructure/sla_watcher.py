"""The SLA watcher: records SLA warnings and breaches on tickets as their moments pass.

Time alone takes an SLA target from "active" to "nearly due" to "breached": no command happens
then, so a process has to notice. The watcher sweeps the SLA read model (`sla_targets`) every
`interval_seconds` (`LEDGERDESK_SLA_WATCH_INTERVAL_SECONDS`, 15 s by default) and, for every
warning or breach that has fallen due and is not on record, calls `HelpDesk.raise_sla_alert`:
the ticket records `SlaWarningIssued` or `SlaBreached`, and a breach of a target still
unfulfilled runs the policy version's escalation (raise the priority, move to a group, an
internal note mentioning supervisors) as ordinary events in the same transaction. (A target
fulfilled after its due moment but before a sweep noticed is recorded as breached without
escalation: the agent who answered keeps the ticket.) The actor is `sla-watcher` (kind
`system`), the channel `sla`. It runs inside the API process on SQLite and in memory, and as
`ledgerdesk sla-watch` beside the API on PostgreSQL; any number may run at once.

## One sweep

The read model keeps each target's state as of the ticket's last event; the sweep judges
time-driven changes at `now` from the stored moments (`TicketQueries.due_alerts`): a warning is
due for an active target once `now` reaches `warn_at`, if it is not yet due (a target found past
due gets its breach, never a late warning); a breach for a target breached as of the last event,
or active with `due_at` reached. Closed tickets take no alerts. A target without a due moment
(`due_at` NULL with `no_due_reason`: its calendar's working time reaches the target only beyond
the 100-year horizon) never falls due, so it is never a candidate. Candidates are read in pages of
`page_size` in (ticket, target) order, so a sweep visits each at most once per pass.

Each alert carries the ticket version the row reflects as `expected_version`. If the ticket
changed since (a reply, a status change, or another watcher's alert), nothing is recorded
(`VersionMismatchError`, counted as `stale`): the row no longer says what the ticket is, and
the next sweep judges it again from the updated row. If another watcher saves first between
our read and our write, the store refuses our events (`RaceLostError`, counted as `raced`).
A ticket with several targets due at once is therefore alerted one target per pass: when a
pass recorded something and skipped stale rows, the sweep waits (at most `catch_up_seconds`)
for the read model to reach what it recorded, and makes another pass (at most `MAX_PASSES`).

## Exactly once per target and cycle

- **At most once.** The ticket aggregate keeps the alerts on record (`kind:target:cycle`);
  `issue_sla_warning` and `record_sla_breach` record nothing when that alert is already there,
  and `raise_sla_alert` decides this on the ticket rebuilt from *all* its stored events. A save
  appends at the next version, and the store accepts a (ticket, version) pair once (a unique
  key), so of two watchers that decided on the same version, one commits and the other's
  whole transaction (alert and escalation) is refused. (On PostgreSQL the recorder takes a
  refused insert whose events are byte for byte the stored ones for its own retried write and
  reports success: nothing new is stored then either.) Whoever writes later decides on a ticket
  that already carries the alert. Watchers, restarts and re-sweeps therefore cannot record a
  second one; no lock or lease between watchers is needed.
- **At least once.** A due alert stays a candidate until its row shows it on record (or the
  ticket changes so it is no longer due); every sweep retries what the last one skipped. What
  was recorded lives in the event store, not in the watcher, so a restarted watcher has nothing
  to remember. With the read model current, an alert is recorded within one interval of its
  moment (15 s by default, so well within 60 s).
- **Judged on the ticket as it is.** `expected_version` makes sure a warning or breach is never
  recorded from a row that predates a reply or a pause: a stale judgement is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain.actors import Actor, ActorKind, channel
from domain.clock import Clock, system_clock
from domain.errors import DomainError, RaceLostError, VersionMismatchError
from domain.helpdesk import HelpDesk
from domain.sla.escalation import Escalation
from domain.tickets.sla_alerts import SlaAlert
from infrastructure.periodic import Periodic
from infrastructure.readmodels.store import ReadModels
from projections.sla.queries import DueAlert

log = logging.getLogger("ledgerdesk.sla")

#: Who records SLA warnings, breaches and escalations, and through which channel.
WATCHER = Actor("sla-watcher", ActorKind.SYSTEM)
CHANNEL = channel("sla")
#: Candidates read per query.
PAGE_SIZE = 500
#: Passes per sweep at most (a ticket can have four targets due at once).
MAX_PASSES = 5


@dataclass(slots=True)
class SweepResult:
    """What a sweep did: alerts recorded, and candidates skipped (judged again next sweep).

    The stored events are the record; these counts are what this watcher saw. Two watchers that
    write byte-identical events (same moment) on PostgreSQL may both count the one stored.
    """

    warnings: int = 0
    breaches: int = 0
    stale: int = 0  # the ticket changed after the read model judged it
    raced: int = 0  # another watcher saved first
    unchanged: int = 0  # already on record, or a closed ticket: nothing to record
    failed: int = 0  # refused for another reason (logged)

    @property
    def recorded(self) -> int:
        """Warnings and breaches recorded."""
        return self.warnings + self.breaches

    def add(self, other: SweepResult) -> None:
        """Count another pass in."""
        self.warnings += other.warnings
        self.breaches += other.breaches
        self.stale += other.stale
        self.raced += other.raced
        self.unchanged += other.unchanged
        self.failed += other.failed


class SlaWatcher(Periodic):
    """Records SLA warnings and breaches as they fall due: one `sweep` at a time, or in a thread."""

    thread_name = "ledgerdesk-sla-watcher"
    work_name = "SLA sweep"

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        *,
        clock: Clock = system_clock,
        interval_seconds: float = 15.0,
        page_size: int = PAGE_SIZE,
        catch_up_seconds: float = 5.0,
    ) -> None:
        super().__init__(interval_seconds, log)
        self.desk = desk
        self.read_models = read_models
        self.clock = clock
        self.page_size = page_size
        self.catch_up_seconds = catch_up_seconds
        self._escalations: dict[tuple[str, str, int], Escalation | None] = {}

    # --- one sweep -----------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> SweepResult:
        """Record every warning and breach due at `now` (default: the clock's reading) that is not on record."""
        moment = self.clock() if now is None else now
        result = SweepResult()
        for _ in range(MAX_PASSES):
            passed, position = self._pass(moment)
            result.add(passed)
            if position is None or not passed.stale:
                break
            self.read_models.wait_for(position, self.catch_up_seconds)
        return result

    def _pass(self, now: datetime) -> tuple[SweepResult, int | None]:
        """Visit each candidate once; return the counts and the log position of the last alert recorded."""
        result, position, after = SweepResult(), None, None
        while True:
            page = self.read_models.sla().due_alerts(now, self.page_size, after=after)
            for due in page:
                if self._stopping.is_set():
                    return result, None
                position = self._raise(due, result) or position
            if len(page) < self.page_size:
                return result, position
            after = (page[-1].ticket_id, page[-1].target)

    def _raise(self, due: DueAlert, result: SweepResult) -> int | None:
        """Record one alert; count what happened; return its log position if something was recorded."""
        alert = SlaAlert(due.target, due.cycle, due.due_at, due.policy_id, due.policy_version)
        try:
            # A target already fulfilled (late) needs no one's attention: its breach is recorded, not escalated.
            escalation = self._escalation(due) if due.breach and not due.fulfilled else None
            receipt = self.desk.raise_sla_alert(
                due.ticket_id,
                alert,
                breach=due.breach,
                expected_version=due.ticket_version,
                escalation=escalation,
                by=WATCHER,
                via=CHANNEL,
            )
        except VersionMismatchError:
            result.stale += 1
            return None
        except RaceLostError:
            result.raced += 1
            return None
        except DomainError:
            log.exception("could not record the SLA %s of ticket %s", "breach" if due.breach else "warning", due)
            result.failed += 1
            return None
        if receipt.position is None:
            result.unchanged += 1
        elif due.breach:
            result.breaches += 1
        else:
            result.warnings += 1
        return receipt.position

    def _escalation(self, due: DueAlert) -> Escalation | None:
        """The escalation of the policy version the target was judged under (versions never change)."""
        key = (due.tenant, due.policy_id, due.policy_version)
        if key not in self._escalations:
            policy = self.desk.sla_policy(due.tenant, due.policy_id, due.policy_version)
            self._escalations[key] = policy.policy_terms.escalation
        return self._escalations[key]

    def _round(self) -> SweepResult:
        return self.sweep()

    def _worth_telling(self, result: SweepResult) -> bool:
        return bool(result.recorded or result.failed)
