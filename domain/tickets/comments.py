"""A ticket's comments: public replies the requester sees and internal notes for agents."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.values import ERASED


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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comment:
        """Rebuild from `as_dict` values."""
        return cls(
            number=data["number"],
            author_id=data["author_id"],
            author_kind=data["author_kind"],
            public=data["public"],
            body=data["body"],
            mentions=tuple(data["mentions"]),
            attachments=tuple(data["attachments"]),
            at=data["at"],
        )
