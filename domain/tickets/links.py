"""How tickets relate to each other: links of a kind, each recorded on both tickets, from each one's side.

`related` reads the same from both sides; the others have an inverse: a ticket that is a
`duplicate_of` another makes that one `duplicated_by` it, `blocks` makes `blocked_by`,
`caused_by` makes `causes`, and a child (`child_of`) makes its parent `parent_of` it. Parents
and children are linked when the child is opened (`parent_id`), not by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import InvalidValueError

LINKS_MAX = 200


class LinkType(StrEnum):
    """A kind of link, as one of the two tickets sees it."""

    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"
    DUPLICATED_BY = "duplicated_by"
    BLOCKS = "blocks"
    BLOCKED_BY = "blocked_by"
    CAUSED_BY = "caused_by"
    CAUSES = "causes"
    CHILD_OF = "child_of"
    PARENT_OF = "parent_of"

    @property
    def inverse(self) -> LinkType:
        """The same link seen from the other ticket."""
        return _INVERSE[self]


_INVERSE = {
    LinkType.RELATED: LinkType.RELATED,
    LinkType.DUPLICATE_OF: LinkType.DUPLICATED_BY,
    LinkType.DUPLICATED_BY: LinkType.DUPLICATE_OF,
    LinkType.BLOCKS: LinkType.BLOCKED_BY,
    LinkType.BLOCKED_BY: LinkType.BLOCKS,
    LinkType.CAUSED_BY: LinkType.CAUSES,
    LinkType.CAUSES: LinkType.CAUSED_BY,
    LinkType.CHILD_OF: LinkType.PARENT_OF,
    LinkType.PARENT_OF: LinkType.CHILD_OF,
}
#: The kinds a caller links tickets with (the inverses follow; parents and children come with the child's opening).
LINKABLE = (LinkType.RELATED, LinkType.DUPLICATE_OF, LinkType.BLOCKS, LinkType.CAUSED_BY)


#: The kinds a caller removes links of, from either side (a child stays its parent's).
UNLINKABLE = tuple(t for t in LinkType if t not in (LinkType.CHILD_OF, LinkType.PARENT_OF))


def link_type(value: str, *, removing: bool = False) -> LinkType:
    """A kind of link a caller may make (or remove), or InvalidValueError naming them."""
    kinds = UNLINKABLE if removing else LINKABLE
    if value not in {t.value for t in kinds}:
        msg = f"link type must be one of {', '.join(kinds)} (got {value!r})"
        raise InvalidValueError(msg)
    return LinkType(value)


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a ticket: its kind from this ticket's side, and the other ticket."""

    type: LinkType
    ticket_id: str

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for snapshots and answers)."""
        return {"type": self.type.value, "ticket_id": self.ticket_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Link:
        """From `as_dict` values."""
        return cls(LinkType(data["type"]), data["ticket_id"])
