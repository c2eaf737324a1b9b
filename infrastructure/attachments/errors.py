"""Why a file was refused or cannot be read; api/problems.py maps each to its HTTP status."""

from __future__ import annotations

from domain.errors import DomainError, InvalidValueError, NotFoundError


class AttachmentTooLargeError(InvalidValueError):
    """The file is larger than LEDGERDESK_ATTACHMENT_MAX_BYTES; nothing of it was kept."""


class AttachmentTypeError(InvalidValueError):
    """The file's type, sniffed from its content, is not in LEDGERDESK_ATTACHMENT_TYPES; nothing of it was kept."""


class AttachmentNotStoredError(NotFoundError):
    """The attachment is metadata only (recorded without a file), or its file is missing from the store."""


class AttachmentErasedError(DomainError):
    """The file's owner was erased: its data key is destroyed, so the stored file can never be read again."""
