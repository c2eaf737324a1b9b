"""A ticket's comments: public replies the requester sees and internal notes for agents.

A comment copied from a ticket merged into this one keeps its author, moment, kind and
attachments, and says where it was first written (`CommentOrigin`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.values import ERASED


@dataclass(frozen=True, slots=True)
class CommentOrigin:
    """Where a copied comment was first written: the ticket, its number there, the channel it came through."""

    ticket_id: str
    number: int
    via: str

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as events and snapshots store them."""
        return {"ticket_id": self.ticket_id, "number": self.number, "via": self.via}


@dataclass(frozen=True, slots=True)
class Comment:
    """A public reply (the requester sees it) or an internal note (agents only)."""

    number: int
    author_id: str
    author_kind: str
    public: bool
    body: str
    mentions: tuple[str, ...]
    attachments: tuple[dict[str, Any], ...]
    at: datetime
    origin: CommentOrigin | None = None  # set on a copy: where the comment was first written

    def copied(self, number: int, origin: CommentOrigin) -> Comment:
        """The comment as a copy numbered `number` on another ticket, first written at `origin`."""
        return replace(self, number=number, origin=origin)

    def erased(self) -> Comment:
        """The comment with its body and attachment names erased (sizes and types are not personal)."""
        files = tuple({**a, "name": ERASED} for a in self.attachments)
        return replace(self, body=ERASED, attachments=files)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as a ticket's snapshot stores them."""
        return {
            "number": self.number,
            "author_id": self.author_id,
            "author_kind": self.author_kind,
            "public": self.public,
            "body": self.body,
            "mentions": list(self.mentions),
            "attachments": [dict(a) for a in self.attachments],
            "at": self.at,
            "origin": None if self.origin is None else self.origin.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comment:
        """Rebuild from `as_dict` values (taken before copies existed: no origin)."""
        origin = data.get("origin")
        return cls(
            number=data["number"],
            author_id=data["author_id"],
            author_kind=data["author_kind"],
            public=data["public"],
            body=data["body"],
            mentions=tuple(data["mentions"]),
            attachments=tuple(data["attachments"]),
            at=data["at"],
            origin=None if origin is None else CommentOrigin(**origin),
        )
