"""The backup file: gzip-compressed JSON lines, a header first and the manifest last.

    {"format": "ledgerdesk-backup", "version": 1, "created_at": ..., "source": "sqlite", ...}   line 1
    {"section": "events", "columns": [...], "rows": 1234}                                    a section begins
    [1, "6f1c...", 1, "domain.tickets.ticket:Ticket.Opened", "eJy..."]                       one line per row
    {"end": "events", "rows": 1234, "sha256": "..."}                                         it ends
    ... the chain, the data keys ...
    {"manifest": {"sections": {...}, "head_position": ..., "head_chain_hash": ...}, "sha256": "..."}

Each section's end line holds the SHA-256 of its row lines (the bytes as written); the manifest
repeats the counts and hashes, names the chain's head, and holds the SHA-256 of every byte
before it. A file cut short has no manifest (or a broken gzip stream) and is called truncated;
a changed byte breaks the gzip checksum, a line's JSON, a section's hash or the manifest's, and
the reader names the line and the section where it found it. Lines are read one at a time, so
neither writing nor reading holds more than a batch.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from infrastructure.backup.sections import SECTIONS, Section, decode_row, encode_row

FORMAT = "ledgerdesk-backup"
VERSION = 1
COMPRESS_LEVEL = 3  # most of gzip's size gain for a fraction of level 6's time


class BackupDamagedError(Exception):
    """The backup file is damaged or truncated; the message names where."""


@dataclass(frozen=True, slots=True)
class SectionSummary:
    """What the manifest says of one section."""

    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """The last line of a backup: counts and hashes, and the chain's head."""

    sections: dict[str, SectionSummary]
    head_position: int
    head_chain_hash: str


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # one encoder for every line
_DECODE = json.JSONDecoder().decode


def _line(document: Any) -> bytes:
    return _JSON.encode(document).encode() + b"\n"


class BackupWriter:
    """Writes a backup to a binary file, section by section, hashing as it goes."""

    def __init__(self, file: IO[bytes], header: dict[str, Any]) -> None:
        self._gzip = gzip.GzipFile(fileobj=file, mode="wb", compresslevel=COMPRESS_LEVEL)
        self._whole = hashlib.sha256()
        self._sections: dict[str, SectionSummary] = {}
        self._write(_line({"format": FORMAT, "version": VERSION, **header}))

    def section(self, section: Section, expected: int, batches: Iterable[list[Any]]) -> Iterator[int]:
        """Write one section from batches of database rows; yields each batch's size as it is written."""
        self._write(_line({"section": section.name, "columns": section.column_names, "rows": expected}))
        digest, rows = hashlib.sha256(), 0
        for batch in batches:
            chunk = b"".join(_line(encode_row(section, row)) for row in batch)
            digest.update(chunk)
            self._write(chunk)
            rows += len(batch)
            yield len(batch)
        summary = SectionSummary(rows, digest.hexdigest())
        self._sections[section.name] = summary
        self._write(_line({"end": section.name, "rows": rows, "sha256": summary.sha256}))

    def finish(self, head_position: int, head_chain_hash: str) -> Manifest:
        """Write the manifest line and close the compressed stream (not the file)."""
        manifest = Manifest(dict(self._sections), head_position, head_chain_hash)
        body = {
            "sections": {name: {"rows": s.rows, "sha256": s.sha256} for name, s in manifest.sections.items()},
            "head_position": head_position,
            "head_chain_hash": head_chain_hash,
        }
        self._gzip.write(_line({"manifest": body, "sha256": self._whole.hexdigest()}))
        self._gzip.close()
        return manifest

    def _write(self, data: bytes) -> None:
        self._whole.update(data)
        self._gzip.write(data)


@dataclass
class _Place:
    """Where the reader is, for messages."""

    line: int = 0
    section: str = ""
    rows: int = 0

    def where(self) -> str:
        inside = f", in section {self.section} after {self.rows} rows" if self.section else ""
        return f"line {self.line}{inside}"


@dataclass
class BackupReader:
    """Reads a backup, checking everything the writer hashed; BackupDamagedError names what is wrong."""

    file: IO[bytes]
    header: dict[str, Any] = field(default_factory=dict)
    manifest: Manifest | None = None
    _place: _Place = field(default_factory=_Place)
    _whole: Any = field(default_factory=hashlib.sha256)
    _summaries: dict[str, SectionSummary] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lines = self._raw_lines()
        first = self._document(self._next_line("its header"))
        if not isinstance(first, dict) or first.get("format") != FORMAT:
            msg = "this is not a ledgerdesk backup (its first line is no backup header)"
            raise BackupDamagedError(msg)
        if first.get("version") != VERSION:
            msg = f"this backup is of format version {first.get('version')}; this release reads version {VERSION}"
            raise BackupDamagedError(msg)
        self.header = first

    def sections(self, batch_size: int) -> Iterator[tuple[Section, int, Iterator[list[list[Any]]]]]:
        """Each section with its announced row count and its rows in batches; then reads the manifest.

        A section's batches must be consumed before the next section is asked for.
        """
        for section in SECTIONS:
            begin = self._document(self._next_line(f"the start of section {section.name}"))
            if not isinstance(begin, dict) or begin.get("section") != section.name:
                self._damaged(f"section {section.name} was expected to begin here")
            if begin.get("columns") != section.column_names:
                self._damaged(f"section {section.name} has other columns than this release restores")
            self._place.section, self._place.rows = section.name, 0
            yield section, int(begin.get("rows") or 0), self._batches(section, batch_size)
        self._read_manifest()

    def _batches(self, section: Section, size: int) -> Iterator[list[list[Any]]]:
        digest, batch = hashlib.sha256(), []
        while True:
            raw = self._next_line(f"the end of section {section.name}")
            if raw.startswith(b"{"):
                break
            digest.update(raw)
            try:
                batch.append(decode_row(section, _DECODE(raw.decode())))
            except ValueError as error:
                self._damaged(f"an unreadable row ({error})")
            self._place.rows += 1
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        end = self._document(raw)
        if not isinstance(end, dict) or end.get("end") != section.name:
            self._damaged(f"section {section.name} does not end properly")
        if end.get("rows") != self._place.rows or end.get("sha256") != digest.hexdigest():
            self._damaged(f"the rows of section {section.name} do not match its recorded count and SHA-256")
        self._summaries[section.name] = SectionSummary(self._place.rows, digest.hexdigest())
        self._place.section = ""

    def _read_manifest(self) -> None:
        before = self._whole.hexdigest()  # every byte up to, not including, the manifest line
        document = self._document(self._next_line("its manifest", hashed=False))
        if not isinstance(document, dict) or "manifest" not in document:
            self._damaged("the manifest was expected here")
        if document.get("sha256") != before:
            self._damaged("the file does not hash to the SHA-256 its manifest records")
        body = document["manifest"]
        try:
            sections = {n: SectionSummary(int(s["rows"]), str(s["sha256"])) for n, s in body["sections"].items()}
            self.manifest = Manifest(sections, int(body["head_position"]), str(body["head_chain_hash"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            self._damaged("the manifest is malformed")
        if self.manifest.sections != self._summaries:
            self._damaged("the manifest's counts and hashes differ from the sections'")
        if next(self._lines, None) is not None:
            self._damaged("there is more after the manifest")

    def _next_line(self, expecting: str, *, hashed: bool = True) -> bytes:
        line = next(self._lines, None)
        if line is None or not line.endswith(b"\n"):
            msg = f"the backup is truncated: it ends at {self._place.where()}, before {expecting}"
            raise BackupDamagedError(msg)
        if hashed:
            self._whole.update(line)
        return line

    def _raw_lines(self) -> Iterator[bytes]:
        stream = gzip.GzipFile(fileobj=self.file, mode="rb")
        while True:
            try:
                line = stream.readline()
            except EOFError:
                msg = f"the backup is truncated: its compressed stream ends at {self._place.where()}"
                raise BackupDamagedError(msg) from None
            except (OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
                msg = f"the backup is damaged: unreadable compressed data after {self._place.where()} ({error})"
                raise BackupDamagedError(msg) from None
            if not line:
                return
            self._place.line += 1
            yield line

    def _document(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            self._damaged("a line that is not JSON")

    def _damaged(self, what: str) -> NoReturn:
        msg = f"the backup is damaged at {self._place.where()}: {what}"
        raise BackupDamagedError(msg)
