"""Blobs as objects of an S3-compatible object store (LEDGERDESK_BLOB_URL=s3://bucket/prefix).

Any S3 API works: AWS, MinIO, Ceph, Garage (LEDGERDESK_S3_ENDPOINT_URL names a non-AWS one).
Credentials are the settings' when given, else boto3's usual chain (environment, profile, role).
Uploads go through boto3's managed transfer, in parts for large files, so a file is never held
in memory whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from infrastructure.attachments.blobs import BlobMissingError, ReadableBlob, checked_name

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix) of `s3://bucket/prefix` (the prefix may be empty); ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        msg = f"an object store URL is s3://bucket/prefix (got {url!r})"
        raise ValueError(msg)
    return parts.netloc, parts.path.strip("/")


class S3BlobStore:
    """Blobs as objects under a bucket's prefix."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket, prefix = parse_s3_url(url)
        self._prefix = f"{prefix}/" if prefix else ""
        options: dict[str, Any] = {"config": Config(retries={"mode": "standard"})}
        if access_key_id and secret_access_key:
            options |= {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self.client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, **options
        )

    def _key(self, name: str) -> str:
        return self._prefix + checked_name(name)

    def exists(self, name: str) -> bool:
        """Whether the object is there (a HEAD request)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return False
            raise
        return True

    def put(self, name: str, source: BinaryIO) -> None:
        """Upload `source`; S3 makes an object visible only once it is complete."""
        source.seek(0)
        self.client.upload_fileobj(source, self.bucket, self._key(name))

    def open(self, name: str) -> ReadableBlob:
        """The object's body, streamed as it is read."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise BlobMissingError(name) from None
            raise
        return answer["Body"]
