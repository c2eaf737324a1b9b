"""PostgreSQL computes a report's durations and days with the same bits as the Python that SQLite's reports run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.metrics.rows import minutes_between
from projections.periods import utc_day

moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
)


@pytest.fixture(scope="module")
def connection(postgres_database: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        yield conn


@settings(max_examples=300, deadline=None)
@given(start=moments, end=moments)
def test_minutes_and_day_are_those_python_computes(
    connection: psycopg.Connection[tuple[object, ...]], start: datetime, end: datetime
) -> None:
    # The same expressions as MetricQueries._durations reads on PostgreSQL.
    row = connection.execute(
        "SELECT EXTRACT(EPOCH FROM (%(end)s::timestamptz - %(start)s::timestamptz))::float8 / 60, "
        "(%(end)s::timestamptz AT TIME ZONE 'UTC')::date",
        {"start": start, "end": end},
    ).fetchone()
    assert row == (minutes_between(start, end), utc_day(end))
