"""Attachments of e-mail taken in, and the one callable that stores them.

`StoreFiles` is given the tenant, the owner id (the sender's person id, which follows from the
address before anything is saved) and the files, and answers each file's `Attachment` as the
comment records it. The composition root wires `kept_in` the attachment store
(infrastructure/attachments): each file is checked, hashed, sealed with the sender's data key and
kept. A file the limits refuse (too large, a type not allowed) does not cost the message: it is
listed on the comment by name, size and declared type, without content, and a download of it
answers that it was recorded without a file. `metadata_only` keeps no file at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.errors import InvalidValueError
from domain.values import Attachment
from infrastructure.attachments.store import AttachmentStore

log = logging.getLogger("ledgerdesk.mail_in")


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


def kept_in(store: AttachmentStore) -> StoreFiles:
    """Store each file in `store` as `owner_id`'s; a refused file is listed without its content."""

    def store_files(tenant: str, owner_id: str, files: Sequence[IncomingFile]) -> list[Attachment]:
        kept = []
        for file in files:
            try:
                kept.append(store.store(tenant, owner_id, file.name, file.data))
            except InvalidValueError as refused:  # too large, a type not allowed, a name no file may have
                log.info("mail-in: a file was not kept: %s", refused)
                kept.append(_listed(file))
        return kept

    return store_files


def _listed(file: IncomingFile) -> Attachment:
    try:
        return Attachment(file.name, len(file.data), file.content_type)
    except InvalidValueError:  # a name no attachment may have (control characters, too long)
        return Attachment("attachment", len(file.data), "application/octet-stream")
