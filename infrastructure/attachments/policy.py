"""What files are accepted: a size limit and an allowlist of content types."""

from __future__ import annotations

from dataclasses import dataclass

#: 25 MiB: what common mail systems accept per message.
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
#: Office documents, images, PDF, plain text and ZIP archives (LEDGERDESK_ATTACHMENT_TYPES).
DEFAULT_TYPES = ",".join(
    (
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/bmp",
        "image/x-ms-bmp",
        "text/plain",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.*",
        "application/vnd.oasis.opendocument.*",
        "application/rtf",
    )
)


@dataclass(frozen=True, slots=True)
class AttachmentPolicy:
    """The largest file accepted, and the content types accepted.

    `types` holds exact media types, prefixes ending in `*` (`image/*`), or `*` for every type.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    types: tuple[str, ...] = tuple(DEFAULT_TYPES.split(","))

    @classmethod
    def parse(cls, max_bytes: int, types: str) -> AttachmentPolicy:
        """The policy of the settings' comma-separated `types` (white space and case are ignored)."""
        return cls(max_bytes, tuple(t.strip().lower() for t in types.split(",") if t.strip()))

    def allows(self, content_type: str) -> bool:
        """Whether a file of this content type is accepted."""
        wanted = content_type.lower()
        return any(
            allowed == wanted or (allowed.endswith("*") and wanted.startswith(allowed[:-1])) for allowed in self.types
        )
