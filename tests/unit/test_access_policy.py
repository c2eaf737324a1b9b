"""The access policy on its own: which tickets a caller reaches and may change, and what its lists show.

tests/e2e/test_authorization.py runs the same rules through every route; this says them in a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.access import policy
from domain.access.policy import PERMISSIONS, ListScope, Role
from domain.actors import Actor, ActorKind


@dataclass
class Facts:
    tenant: str = "acme"
    requester_id: str = "bob"
    organisation: str | None = "initech"
    group: str | None = "it"


BOB = Actor("bob", ActorKind.REQUESTER, organisation="initech")
CAROL = Actor("carol", ActorKind.REQUESTER, organisation="initech")
DAN = Actor("dan", ActorKind.REQUESTER)
ALICE = Actor("alice", ActorKind.AGENT)
NETWORK_ONLY = Actor("nina", ActorKind.AGENT, groups=frozenset({"network"}))


@pytest.mark.parametrize(
    ("actor", "reaches", "may_change"),
    [(BOB, True, True), (CAROL, True, False), (DAN, False, False), (ALICE, True, True), (NETWORK_ONLY, False, True)],
    ids=["requester", "same-organisation", "stranger", "agent", "other-group"],
)
def test_who_reaches_and_may_change_a_ticket(actor: Actor, reaches: bool, may_change: bool) -> None:
    ticket = Facts()

    assert policy.reaches(actor, ticket, tenant="acme") is reaches
    assert policy.may_change(actor, ticket) is may_change


@given(actor=st.sampled_from([BOB, CAROL, DAN, ALICE, NETWORK_ONLY]), group=st.sampled_from([None, "it", "network"]))
def test_no_one_reaches_another_tenants_ticket_and_unrouted_tickets_are_every_agents(
    actor: Actor, group: str | None
) -> None:
    ticket = Facts(group=group)

    assert not policy.reaches(actor, ticket, tenant="globex")
    if actor.kind is ActorKind.AGENT and group is None:
        assert policy.reaches(actor, ticket, tenant="acme")


def test_a_list_shows_what_one_ticket_would() -> None:
    assert policy.list_scope(BOB) == ListScope(requester="bob", organisation="initech")
    assert policy.list_scope(NETWORK_ONLY) == ListScope(groups=frozenset({"network"}))
    assert policy.list_scope(ALICE) == ListScope()


def test_an_action_the_policy_does_not_list_is_refused_to_every_role() -> None:
    assert not any(policy.may(role, "an_endpoint_no_one_decided_on") for role in Role)
    assert policy.may(Role.ADMIN, "erase_person")
    assert not policy.may(Role.AGENT, "erase_person")
    assert policy.reads_whole_tenant("feed")
    assert all(roles <= set(Role) for roles in PERMISSIONS.values())
