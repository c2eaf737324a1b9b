"""Training suggestion models on SQLite and PostgreSQL: the command line with its progress bar, one trainer at a
time across processes, the schedule, and models loaded only as this desk wrote them."""

from __future__ import annotations

import pytest

from bench.corpus import generate, open_solved
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from infrastructure.suggestions.store import TABLE, TamperedModelError
from infrastructure.suggestions.training import AnotherTrainerError
from tests.support.processes import cli_env, run_cli


@pytest.fixture
def seeded(served: Services) -> Services:
    position = open_solved(served.desk, "acme", generate(60, seed=21))
    served.read_models.wait_for(position, timeout=60)
    return served


def test_suggest_train_shows_progress_and_prints_each_tenants_new_version(
    seeded: Services, sql_settings: Settings
) -> None:
    done = run_cli("suggest", "train", "--tenant", "acme", env=cli_env(sql_settings))
    assert done.returncode == 0, done.stderr
    assert "reading acme" in done.stderr  # the progress bar, on standard error
    assert done.stdout.startswith("acme: model version 1 from 60 tickets")
    assert "holdout accuracy type" in done.stdout
    none = run_cli("suggest", "train", "--tenant", "nobody", env=cli_env(sql_settings))
    assert (none.returncode, none.stdout.strip()) == (0, "nobody: no model (too_few_training_tickets)")
    off = run_cli("suggest", "train", env={**cli_env(sql_settings), "LEDGERDESK_SUGGESTIONS_ENABLED": "false"})
    assert off.returncode == 2
    assert off.stderr.strip() == "ledgerdesk: error: suggestions are off (LEDGERDESK_SUGGESTIONS_ENABLED=false)"


def test_while_one_process_trains_another_is_refused_and_the_schedule_counts_from_the_last_training(
    seeded: Services, sql_settings: Settings
) -> None:
    other = build_services(sql_settings)
    try:
        first, second = seeded.trainer(), other.trainer()
        assert first.due(3600)  # never trained
        assert first.lease.acquire() is not None  # training now, as a worker on another host would be
        with pytest.raises(AnotherTrainerError):
            second.train(["acme"])
        first.lease.release()
        (outcome,) = second.train(["acme"])
        assert outcome.version is not None
        assert not first.due(3600)  # trained a moment ago, on the other "host"
        assert first.due(0.0001)
    finally:
        other.close()


def test_a_model_whose_bytes_were_changed_is_not_loaded(seeded: Services) -> None:
    (outcome,) = seeded.trainer().train(["acme"])
    assert outcome.version is not None
    store = seeded.model_store()
    assert store.load("acme", 1).predict("printer is broken")
    sql = seeded.webhook_store.sql
    with sql.transaction() as cursor:
        cursor.execute(f"UPDATE {sql.table(TABLE)} SET sha256 = {sql.p} WHERE tenant = {sql.p}", ("0" * 64, "acme"))
    with pytest.raises(TamperedModelError):
        store.load("acme", 1)
