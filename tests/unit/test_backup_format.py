"""The backup file format: whatever rows go in come out, and no cut or changed file reads as whole."""

from __future__ import annotations

import gzip
import io
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.backup.file_format import BackupDamagedError, BackupReader, BackupWriter
from infrastructure.backup.sections import API_KEYS, CHAIN, DATA_KEYS, EVENTS, SECTIONS, WEB_USERS, Section

text = st.text(max_size=20)
maybe_text = st.none() | text
digest = st.binary(min_size=32, max_size=32)
events = st.lists(
    st.tuples(st.integers(1, 2**40), st.uuids(), st.integers(1, 10_000), text, st.binary(max_size=64)), max_size=12
)
chain = st.lists(st.tuples(st.integers(1, 2**40), st.uuids(), st.integers(1, 10_000), digest, digest), max_size=12)
keys = st.lists(st.tuples(text, text, text, st.none() | digest, text, maybe_text), max_size=6)
api_keys = st.lists(st.tuples(*([text] * 7), maybe_text, maybe_text, maybe_text), max_size=3)
users = st.lists(st.tuples(*([text] * 7), maybe_text, maybe_text, maybe_text, text, text, maybe_text), max_size=3)
tables = st.fixed_dictionaries(
    {EVENTS.name: events, CHAIN.name: chain, DATA_KEYS.name: keys, API_KEYS.name: api_keys, WEB_USERS.name: users}
)


def _write(rows: dict[str, list[Any]]) -> bytes:
    out = io.BytesIO()
    writer = BackupWriter(out, {"source": "test"})
    for section in SECTIONS:
        batches = [rows[section.name][i : i + 5] for i in range(0, len(rows[section.name]), 5)]
        list(writer.section(section, len(rows[section.name]), batches))
    writer.finish(7, "ab" * 32)
    return out.getvalue()


def _read(data: bytes) -> dict[str, list[list[Any]]]:
    reader = BackupReader(io.BytesIO(data))
    found: dict[str, list[list[Any]]] = {}
    section: Section
    for section, _, batches in reader.sections(3):
        found[section.name] = [row for batch in batches for row in batch]
    assert reader.manifest is not None
    return found


@settings(max_examples=60, deadline=None)
@given(tables)
def test_every_row_comes_back_as_it_went_in(rows: dict[str, list[Any]]) -> None:
    assert _read(_write(rows)) == {name: [list(row) for row in table] for name, table in rows.items()}


@settings(max_examples=60, deadline=None)
@given(tables, st.data())
def test_a_file_cut_anywhere_is_refused(rows: dict[str, list[Any]], data: st.DataObject) -> None:
    whole = _write(rows)
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(BackupDamagedError):
        _read(whole[:cut])


@settings(max_examples=60, deadline=None)
@given(tables, st.data())
def test_a_file_whose_lines_are_cut_anywhere_is_refused_as_truncated(
    rows: dict[str, list[Any]], data: st.DataObject
) -> None:
    lines = gzip.decompress(_write(rows)).splitlines(keepends=True)
    kept = data.draw(st.integers(0, len(lines) - 1))
    with pytest.raises(BackupDamagedError, match="truncated"):
        _read(gzip.compress(b"".join(lines[:kept])))


@settings(max_examples=60, deadline=None)
@given(tables, st.data())
def test_a_changed_line_is_refused(rows: dict[str, list[Any]], data: st.DataObject) -> None:
    lines = gzip.decompress(_write(rows)).splitlines(keepends=True)
    at = data.draw(st.integers(0, len(lines) - 1))
    replacement = data.draw(st.sampled_from([b"[]\n", b"{}\n", b"not json\n", b'["x"]\n', lines[at - 1]]))
    if replacement == lines[at]:
        return
    lines[at] = replacement
    with pytest.raises(BackupDamagedError, match=r"damaged|not a ledgerdesk backup|truncated"):
        _read(gzip.compress(b"".join(lines)))


def test_a_row_that_does_not_fit_its_columns_is_named() -> None:
    rows: dict[str, list[Any]] = {s.name: [] for s in SECTIONS}
    rows[EVENTS.name] = [(1, uuid.uuid4(), 1, "t", b"x")]
    lines = gzip.decompress(_write(rows)).splitlines(keepends=True)
    lines[2] = b'[1, "not-a-uuid", 1, "t", "eA=="]\n'
    with pytest.raises(BackupDamagedError, match=r"damaged at line 3, in section events after 0 rows: an unreadable"):
        _read(gzip.compress(b"".join(lines)))
