"""Another ticket named in a form: by its id, or by its short ref (the start of its id, as `[#3f2a9c1e]` shows it).

A short ref is looked up among the tenant's tickets in the read model (`with_short_ref`, as a
mail reply's subject token is); the ticket found must be one the visitor reaches, as
`GET /tickets/{id}` reads it. Another tenant's ticket, or one out of reach, is as unknown as a
missing one.
"""

from __future__ import annotations

from uuid import UUID

from api.web.ticket_view import readable
from infrastructure.composition import Services
from infrastructure.keys import Principal

_HEX = frozenset("0123456789abcdef")


class TicketRefError(Exception):
    """A ticket named in a form that names no ticket the visitor reaches, or more than one."""

    def __init__(self, code: str, ref: str) -> None:
        super().__init__(f"{code}: {ref}")
        self.code = code  # "unknown-ref" or "ambiguous-ref"
        self.ref = ref


def _cleaned(text: str) -> str:
    return text.strip().removeprefix("[").removesuffix("]").removeprefix("#").strip().lower()


def resolve_ref(services: Services, principal: Principal, text: str) -> UUID:
    """The ticket `text` names for this visitor (an id, or the start of one), or TicketRefError."""
    ref = _cleaned(text)
    try:
        candidates = [UUID(ref)]
    except ValueError:
        digits = ref.replace("-", "")
        tickets = services.read_models.tickets()
        candidates = tickets.with_short_ref(principal.tenant, digits) if set(digits) <= _HEX else []
    found = [ticket_id for ticket_id in candidates if readable(services, principal, ticket_id) is not None]
    if not found:
        raise TicketRefError("unknown-ref", text.strip())
    if len(found) > 1:
        raise TicketRefError("ambiguous-ref", text.strip())
    return found[0]
