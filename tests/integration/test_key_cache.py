"""API keys verified once and kept a moment in each process: revocation elsewhere still takes effect within it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.keys import CachedKeyStore
from infrastructure.settings import Settings


class Timer:
    """A clock for the cache that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def processes(sql_settings: Settings) -> Iterator[tuple[Services, Services]]:
    """Two processes' worth of services on one database: here and elsewhere."""
    here, elsewhere = build_services(sql_settings), build_services(sql_settings)
    yield here, elsewhere
    here.close()
    elsewhere.close()


def test_a_key_revoked_elsewhere_is_refused_here_within_the_cache_time(processes: tuple[Services, Services]) -> None:
    here, elsewhere = processes
    assert isinstance(here.keys, CachedKeyStore)
    assert isinstance(elsewhere.keys, CachedKeyStore)
    timer = Timer()
    cached = CachedKeyStore(here.keys.store, seconds=1.0, timer=timer)
    issued = elsewhere.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")

    assert cached.authenticate(issued.secret) == issued.principal  # made elsewhere, known here at once
    assert elsewhere.keys.revoke(issued.principal.key_id)
    timer.now += 0.9
    assert cached.authenticate(issued.secret) == issued.principal  # kept here a moment longer
    timer.now += 0.2
    assert cached.authenticate(issued.secret) is None  # past the cache time: refused


def test_a_key_revoked_here_is_refused_at_once_and_unknown_tokens_are_never_kept(
    processes: tuple[Services, Services],
) -> None:
    here, elsewhere = processes
    issued = here.keys.create(actor_id="bob", role=Role.AGENT, tenant="acme")
    assert here.keys.authenticate(issued.secret) == issued.principal
    assert here.keys.revoke(issued.principal.key_id)
    assert here.keys.authenticate(issued.secret) is None

    guessed = f"ldk_{issued.principal.key_id}_nothing"
    assert here.keys.authenticate(guessed) is None
    later = elsewhere.keys.create(actor_id="carl", role=Role.AGENT, tenant="acme")
    assert here.keys.authenticate(later.secret) == later.principal  # a refusal a moment ago kept nothing


def test_the_old_secret_of_a_key_rotated_elsewhere_is_refused_here_within_the_cache_time(
    processes: tuple[Services, Services],
) -> None:
    here, elsewhere = processes
    assert isinstance(here.keys, CachedKeyStore)
    timer = Timer()
    cached = CachedKeyStore(here.keys.store, seconds=1.0, timer=timer)
    old = elsewhere.keys.create(actor_id="dana", role=Role.AGENT, tenant="acme")
    assert cached.authenticate(old.secret) == old.principal

    new = elsewhere.keys.rotate(old.principal.key_id)
    assert new is not None
    assert new.principal == old.principal  # the same key: id, holder, role and tenant
    assert cached.authenticate(new.secret) == old.principal  # the new secret works here at once
    timer.now += 1.1
    assert cached.authenticate(old.secret) is None  # the old one, past the cache time: refused
    assert elsewhere.keys.authenticate(old.secret) is None  # where it was rotated: at once


def test_a_revoked_key_gets_no_new_secret(processes: tuple[Services, Services]) -> None:
    here, _ = processes
    issued = here.keys.create(actor_id="erin", role=Role.AGENT, tenant="acme")
    assert here.keys.revoke(issued.principal.key_id)
    assert here.keys.rotate(issued.principal.key_id) is None
    assert here.keys.rotate("000000000000") is None
