"""A long history read a page at a time: the pages, joined, are the whole history, on every store."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.errors import TicketNotFoundError
from infrastructure.composition import Services

ANN = Actor("ann", ActorKind.AGENT, role="agent")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notes=st.integers(min_value=0, max_value=12), size=st.integers(min_value=1, max_value=5))
def test_the_pages_joined_are_the_whole_history(services: Services, notes: int, size: int) -> None:
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    ticket = services.desk.open_ticket(title="Long", requester_id="cathy", **how).ticket_id  # type: ignore[arg-type]
    for number in range(notes):
        services.desk.add_comment(ticket, f"note {number}", public=False, **how)  # type: ignore[arg-type]
    pages, after = [], 0
    while page := services.desk.history_page(ticket, after_version=after, limit=size, tenant="acme"):
        assert len(page) <= size
        pages.extend(page)
        after = page[-1].version
    assert pages == services.desk.history(ticket, tenant="acme")


def test_another_tenant_reads_no_page(services: Services) -> None:
    how = {"by": ANN, "via": "web", "tenant": "acme"}
    ticket = services.desk.open_ticket(title="Ours", requester_id="cathy", **how).ticket_id  # type: ignore[arg-type]
    with pytest.raises(TicketNotFoundError):
        services.desk.history_page(ticket, after_version=0, limit=10, tenant="globex")
