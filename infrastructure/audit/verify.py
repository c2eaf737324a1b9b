"""Verify the event log against its hash chain (and, optionally, a signed checkpoint).

Events and chain rows are walked together in position order, a page at a time. Every hash is
recomputed from the stored bytes; the first disagreement is reported with what it is:

- `changed`: the event's bytes (or its chain row) differ from what was recorded;
- `deleted`: a chain row has no event (the event was removed);
- `inserted`: an event has no chain row (it was added outside the application);
- `reordered`: the event at a position is not the one recorded there, or an aggregate's
  versions are out of sequence;
- `checkpoint`: the log up to a signed checkpoint does not hash to the checkpoint's digest
  (someone rewrote the events and every hash after them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from infrastructure.audit.chain import GENESIS, ChainRow, event_bytes, next_chain_hash, next_stream_hash
from infrastructure.audit.checkpoint import Checkpoint

PAGE = 2000
Progress = Callable[[int, int], None]  # (position checked, head position)


@dataclass(frozen=True, slots=True)
class Finding:
    """The first place where the log and its chain disagree."""

    kind: str
    position: int
    aggregate_id: str
    version: int
    detail: str


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of a verification."""

    events: int
    head_position: int
    head_hash: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return self.finding is None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What verification reads of a stored event."""

    position: int
    originator_id: Any
    version: int
    topic: str
    state: bytes


Pair = tuple[StoredEvent | None, ChainRow | None]


class _Walk:
    """The state of one verification walk."""

    def __init__(self, checkpoint: Checkpoint | None) -> None:
        # A checkpoint of the empty log holds for any log: nothing came before position 0.
        empty = checkpoint is not None and checkpoint.position == 0 and checkpoint.chain_hash == GENESIS.hex()
        self.checkpoint = None if empty else checkpoint
        self.chain = GENESIS
        self.streams: dict[UUID, tuple[int, bytes]] = {}
        self.events = 0
        self.position = 0

    def check(self, event: StoredEvent, row: ChainRow) -> Finding | None:
        ident = _uuid(event.originator_id)
        if (ident, event.version) != (_uuid(row.originator_id), row.version):
            detail = f"the chain recorded {_key(row.originator_id)} version {row.version} at this position"
            return _finding("reordered", event, detail)
        last_version, previous = self.streams.get(ident, (0, GENESIS))
        if event.version != last_version + 1:
            return _finding("reordered", event, f"follows version {last_version} of the same aggregate")
        stream = next_stream_hash(previous, event_bytes(event.originator_id, event.version, event.topic, event.state))
        if stream != row.stream_hash:
            return _finding("changed", event, "the stored event differs from what was recorded")
        chain = next_chain_hash(self.chain, event.position, stream)
        if chain != row.chain_hash:
            return _finding("changed", event, "the chain row was altered")
        self.chain, self.position = chain, event.position
        self.streams[ident] = (event.version, stream)
        self.events += 1
        return self._check_checkpoint(event)

    def _check_checkpoint(self, event: StoredEvent) -> Finding | None:
        if self.checkpoint is not None and event.position == self.checkpoint.position:
            if self.chain.hex() != self.checkpoint.chain_hash:
                detail = "the log up to the checkpoint no longer hashes to the signed digest"
                return _finding("checkpoint", event, detail)
            self.checkpoint = None  # confirmed
        return None

    def passed_checkpoint(self, position: int) -> Finding | None:
        if self.checkpoint is not None and position > self.checkpoint.position:
            detail = f"no event at the checkpoint's position {self.checkpoint.position}"
            return Finding("checkpoint", self.checkpoint.position, "", 0, detail)
        return None


def verify_log(
    pairs: Iterable[Pair],
    head: int,
    *,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
) -> Verification:
    """Walk the log's positions in order, each its stored event and its chain row (`paired` or a joined read)."""
    walk = _Walk(checkpoint)
    found = _walk(walk, pairs, head, progress)
    if found is None and checkpoint is not None and walk.checkpoint is not None:
        found = Finding("checkpoint", checkpoint.position, "", 0, "the log ends before the checkpoint's position")
    return Verification(walk.events, walk.position, walk.chain.hex(), found)


def paged(events: Callable[[int, int], list[Any]], chain_rows: Callable[[int, int], list[ChainRow]]) -> Iterator[Pair]:
    """The pairs of two paged reads (`events(after, limit)`, `chain_rows(after, limit)`), merged by position."""
    return paired(_paged(events, as_stored_event), _paged(chain_rows, lambda r: r))


def paired(events: Iterator[StoredEvent], rows: Iterator[ChainRow]) -> Iterator[Pair]:
    """Events and chain rows, each in position order, as one pair per position (None where one side lacks it)."""
    event, row = next(events, None), next(rows, None)
    while event is not None or row is not None:
        if row is None or (event is not None and event.position < row.position):
            yield event, None
            event = next(events, None)
        elif event is None or row.position < event.position:
            yield None, row
            row = next(rows, None)
        else:
            yield event, row
            event, row = next(events, None), next(rows, None)


def _walk(walk: _Walk, pairs: Iterable[Pair], head: int, progress: Progress | None) -> Finding | None:
    for event, row in pairs:
        if row is None:
            assert event is not None
            return _finding("inserted", event, "no chain row was recorded for this event")
        if event is None:
            return Finding("deleted", row.position, _key(row.originator_id), row.version, "the event was removed")
        found = walk.passed_checkpoint(event.position) or walk.check(event, row)
        if found is not None:
            return found
        if progress is not None and walk.events % PAGE == 0:
            progress(walk.position, head)
    if progress is not None:
        progress(walk.position, head)
    return None


def _paged(fetch: Callable[[int, int], list[Any]], convert: Callable[[Any], Any]) -> Iterator[Any]:
    after = 0
    while True:
        page = fetch(after, PAGE)
        for item in page:
            converted = convert(item)
            yield converted
            after = converted.position
        if len(page) < PAGE:
            return


def as_stored_event(notification: Any) -> StoredEvent:
    """What verification reads of one of eventsourcing's notifications."""
    return StoredEvent(
        notification.id,
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def _uuid(originator_id: Any) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def _key(originator_id: Any) -> str:
    return str(_uuid(originator_id))


def _finding(kind: str, event: StoredEvent, detail: str) -> Finding:
    return Finding(kind, event.position, _key(event.originator_id), event.version, detail)
