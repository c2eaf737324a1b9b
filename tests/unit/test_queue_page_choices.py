"""The queue page's choices: what an address asks for, how a saved view keeps it, how a countdown reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from api.web.paths import is_web_path
from api.web.queue_page import QueueChoice, QueueName, choice_from, countdown, queue_filter, view_choice, view_filters
from domain.access.policy import ListScope, Role
from domain.actors import Actor, ActorKind
from infrastructure.keys import Principal
from projections.tickets.queries import UNASSIGNED, SlaFilter
from projections.tickets.rows import UNSOLVED, TicketRow

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
ANN = Principal("user:1", Actor("ann", ActorKind.AGENT, "agent", None, frozenset({"support"})), Role.AGENT, "acme")


def _row(**fields: object) -> TicketRow:
    base: dict[str, object] = {
        "ticket_id": uuid4(),
        "tenant": "acme",
        "title": "Printer on fire",
        "status": "new",
        "status_category": "new",
        "priority": "normal",
        "priority_rank": 1,
        "ticket_type": None,
        "group": "support",
        "assignee": None,
        "requester_id": "cathy",
        "organisation": None,
        "channel": "web",
        "tags": [],
        "custom_fields": {},
        "created_at": NOW,
        "updated_at": NOW,
    }
    return TicketRow(**{**base, **fields})  # type: ignore[arg-type]


def test_an_address_asks_for_a_queue_and_filters_and_invalid_values_are_left_out() -> None:
    choice = choice_from({"queue": "unassigned", "status": "Open!", "priority": "high", "tag": "VPN", "q": " vpn "})
    assert choice == QueueChoice(QueueName.UNASSIGNED, status=None, priority="high", tag="vpn", q="vpn")
    assert choice_from({"queue": "everything", "priority": "sky-high", "group": "no spaces"}) == QueueChoice()


def test_each_queue_is_the_read_models_filter_within_the_policys_scope() -> None:
    mine = queue_filter(ANN, QueueChoice(), NOW)
    assert (mine.assignee, mine.categories, mine.scope) == ("ann", UNSOLVED, ListScope(groups=frozenset({"support"})))
    assert queue_filter(ANN, QueueChoice(QueueName.UNASSIGNED), NOW).assignee is UNASSIGNED
    at_risk = queue_filter(ANN, QueueChoice(QueueName.AT_RISK), NOW)
    assert (at_risk.sla, at_risk.now, at_risk.assignee) == (SlaFilter.AT_RISK, NOW, None)
    solved = queue_filter(ANN, QueueChoice(QueueName.GROUPS, status="solved", q="vpn"), NOW)
    assert (solved.statuses, solved.categories, solved.text) == (("solved",), (), "vpn")


@pytest.mark.parametrize(
    "choice",
    [
        QueueChoice(),
        QueueChoice(QueueName.UNASSIGNED, priority="urgent", q="vpn"),
        QueueChoice(QueueName.AT_RISK, tag="network", group="support"),
        QueueChoice(QueueName.GROUPS, status="pending"),
    ],
)
def test_a_saved_view_brings_back_the_queue_and_filters_it_was_saved_from(choice: QueueChoice) -> None:
    assert view_choice(ANN, view_filters(ANN, choice)) == choice


def test_a_view_saved_through_the_api_opens_in_my_groups() -> None:
    assert view_choice(ANN, {"status": ["open"], "channel": "email"}) == QueueChoice(QueueName.GROUPS, status="open")


def test_the_countdown_says_how_long_is_left_or_how_long_it_is_overdue() -> None:
    due = _row(sla_due_at=NOW + timedelta(minutes=29), sla_warn_at=NOW - timedelta(minutes=31))
    shown = countdown(due, NOW, "en")
    assert (shown.countdown, shown.at_risk, shown.overdue) == ("in 29 minutes", True, False)
    assert countdown(due, NOW, "zh_CN").countdown == "29分钟后"
    late = countdown(_row(sla_due_at=NOW - timedelta(hours=2)), NOW, "en")
    assert (late.countdown, late.overdue) == ("2 hours", True)
    assert countdown(_row(), NOW, "en").countdown is None  # no running target


def test_the_new_pages_are_web_pages() -> None:
    assert is_web_path("/new")
    assert is_web_path("/saved-views")
    assert not is_web_path("/views")  # the API's saved views
