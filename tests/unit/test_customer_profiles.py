"""Customer profiles in the domain: checked whole, recorded whole, removed; the tier as triggers see it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.automation.conditions import Facts, parse
from domain.customers.profile import Profile, profile
from domain.errors import InvalidRuleError, InvalidValueError, NotFoundError
from domain.helpdesk import HelpDesk

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
TIERS = st.sampled_from(["gold", "silver", "bronze"]) | st.none()


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def test_a_profile_is_recorded_whole_and_reads_back_typed(desk: HelpDesk) -> None:
    given_ = profile(
        tier="gold", contract="C-1", contract_until=date(2027, 1, 31), purchases=["P-1", "P-1", "P-2"],
        attributes={"seats": 3, "onsite": False, "renewal": date(2027, 1, 1), "region": "emea"},
    )  # fmt: skip
    desk.set_customer_profile(tenant="acme", customer_id="bob", checked=given_, by=ADMIN, via="api")
    record = desk.customer_profile("acme", "bob")
    assert record.profile == given_
    assert record.profile is not None
    assert record.profile.purchases == ("P-1", "P-2")
    assert desk.customer_tier("acme", "bob") == "gold"
    assert desk.customer_tier("globex", "bob") is None
    with pytest.raises(NotFoundError):
        desk.customer_profile("globex", "bob")


def test_removing_a_profile_forgets_it_and_setting_it_again_starts_anew(desk: HelpDesk) -> None:
    desk.set_customer_profile(tenant="acme", customer_id="bob", checked=profile(tier="gold"), by=ADMIN, via="api")
    removed = desk.remove_customer_profile(tenant="acme", customer_id="bob", by=ADMIN, via="api")
    assert (removed.record.profile, removed.record.version) == (None, 2)
    assert desk.customer_tier("acme", "bob") is None
    with pytest.raises(NotFoundError):
        desk.remove_customer_profile(tenant="acme", customer_id="bob", by=ADMIN, via="api")
    again = desk.set_customer_profile(tenant="acme", customer_id="bob", checked=Profile(), by=ADMIN, via="api")
    assert again.record.version == 3


def test_setting_many_profiles_records_all_in_one_transaction(desk: HelpDesk) -> None:
    wanted = [("bob", profile(tier="gold")), ("dave", profile(tier="silver")), ("bob", profile(tier="silver"))]
    assert desk.set_customer_profiles(tenant="acme", profiles=wanted, by=ADMIN, via="cli") is not None
    assert (desk.customer_tier("acme", "bob"), desk.customer_tier("acme", "dave")) == ("silver", "silver")


@pytest.mark.parametrize(
    "given_",
    [
        {"tier": "Gold"},
        {"contract_until": date(2027, 1, 1)},
        {"purchases": ["a b"]},
        {"purchases": [f"p{n}" for n in range(101)]},
        {"attributes": {"Bad Name": 1}},
        {"attributes": {"note": 1.5}},
        {"attributes": {"note": "x" * 201}},
        {"attributes": {f"a{n}": n for n in range(21)}},
    ],
)
def test_a_bad_profile_is_refused(given_: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError):
        profile(**given_)  # type: ignore[arg-type]


@given(tier=TIERS, wanted=st.lists(st.sampled_from(["gold", "silver", "bronze"]), min_size=1, max_size=3))
def test_a_tier_condition_holds_exactly_when_the_requesters_tier_is_one_wanted(
    tier: str | None, wanted: list[str]
) -> None:
    condition = parse({"all": [{"field": "customer.tier", "op": "in", "value": wanted}]})
    assert condition.holds(Facts({"customer.tier": tier})) is (tier in wanted)
    unset = parse({"all": [{"field": "customer.tier", "op": "is_not_set"}]})
    assert unset.holds(Facts({"customer.tier": tier})) is (tier is None)


def test_timed_rules_and_change_tests_may_not_test_a_customer_field() -> None:
    with pytest.raises(InvalidRuleError, match="triggers"):
        parse({"all": [{"field": "customer.tier", "op": "equals", "value": "gold"}]}, timed=True)
    with pytest.raises(InvalidRuleError, match="by value"):
        parse({"all": [{"field": "customer.tier", "op": "changed"}]})


@given(tier=TIERS)
def test_a_trigger_on_the_tier_acts_on_the_requesters_tier_when_it_runs(tier: str | None) -> None:
    desk = HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))
    if tier is not None:
        desk.set_customer_profile(tenant="acme", customer_id="bob", checked=profile(tier=tier), by=ADMIN, via="api")
    desk.define_trigger(
        tenant="acme", name="gold", title="Gold first", position=1, enabled=True, on=["created"],
        conditions={"all": [{"field": "customer.tier", "op": "equals", "value": "gold"}]},
        actions=[{"set_group": "gold"}], by=ADMIN, via="api",
    )  # fmt: skip
    opened = desk.open_ticket(tenant="acme", title="Help", requester_id="bob", by=ADMIN, via="api").ticket_id
    fired = desk.run_triggers(opened, 1)
    assert (fired is not None) is (tier == "gold")
    assert desk.get_ticket(opened).group == ("gold" if tier == "gold" else None)
