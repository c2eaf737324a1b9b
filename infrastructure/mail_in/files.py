"""Attachments of e-mail taken in, and the one callable that stores them.

`StoreFiles` is given the tenant, the owner id (the inbound message's record id, known before
anything is saved) and the files, and answers each file's `Attachment` as the comment records it.
The composition root wires it (infrastructure/composition.py); `metadata_only` records name, size
and type alone, as attachments are recorded elsewhere in the code base today.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.values import Attachment


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file attached to an e-mail: its (decoded) name, its content type and its bytes."""

    name: str
    content_type: str
    data: bytes


#: (tenant, owner id, files) -> the attachments to record, in the same order.
StoreFiles = Callable[[str, str, Sequence[IncomingFile]], list[Attachment]]


def metadata_only(tenant: str, owner_id: str, files: Sequence[IncomingFile]) -> list[Attachment]:
    """Each file's name, size and content type, the bytes kept nowhere."""
    return [Attachment(f.name, len(f.data), f.content_type) for f in files]
