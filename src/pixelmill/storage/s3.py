"""Blobs in an S3-compatible bucket: ``s3://bucket/prefix`` with keys ``<prefix>/ab/cd/abcd…``.

Keys are the content's SHA-256, sharded like the local store, so two processes writing the same
bytes write the same object and a reader never sees a partial one (S3 PUTs are atomic). Each
object carries the media type sniffed from its bytes, so presigned links (handed to clients in
place of links through the API) serve the right type straight from the bucket. boto3 is blocking:
every call runs in a worker thread, and its client is thread-safe, so one client serves them all.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any
from urllib.parse import unquote, urlparse

from pixelmill.config import Settings
from pixelmill.storage.media import sniff_mime

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")`` (the prefix may be empty)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not _BUCKET.match(parsed.netloc):
        raise ValueError(f"invalid S3 storage URL {url!r}; use s3://<bucket>/<prefix>")
    return parsed.netloc, unquote(parsed.path).strip("/")


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """A BlobStore (storage/base.py) over one bucket and key prefix, with presigned GET links."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3  # the `s3` extra; imported here so file:// deployments never need it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            # Path-style addressing works with every S3-compatible server (MinIO, Ceph, moto), and
            # SigV4 is what presigned links need to be accepted by all of them.
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> S3BlobStore:
        bucket, prefix = parse_s3_url(url)
        secret = settings.s3_secret_access_key
        return cls(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )

    def key_for(self, sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise KeyError(sha256)
        name = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _put_sync(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.key_for(digest),
            Body=data,
            ContentType=sniff_mime(data) or "application/octet-stream",
            # Content-addressed: the bytes under a key never change.
            CacheControl="private, max-age=31536000, immutable",
        )
        return digest

    def _get_sync(self, sha256: str) -> bytes:
        key = self.key_for(sha256)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                raise KeyError(sha256) from None
            raise
        body: bytes = response["Body"].read()
        return body

    def _exists_sync(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except KeyError:
            return False
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def _check_sync(self) -> None:
        # A real write and delete: a readable bucket with a read-only key must fail the check.
        key = f"{self.prefix}/.check" if self.prefix else ".check"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=b"ok")
        self.client.delete_object(Bucket=self.bucket, Key=key)

    async def put(self, data: bytes) -> str:
        return await asyncio.to_thread(self._put_sync, data)

    async def get(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self._get_sync, sha256)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self._exists_sync, sha256)

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self.key_for(sha256))

    async def check(self) -> None:
        await asyncio.to_thread(self._check_sync)

    def presigned_url(self, sha256: str, *, ttl_seconds: int, mime: str | None = None) -> str:
        """A GET link to the blob that expires after ``ttl_seconds`` (signing is local: no request).

        ``mime`` overrides the stored type for this link: a file recorded as SVG, for one, is
        stored as bytes whose type cannot be sniffed.
        """
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self.key_for(sha256)}
        if mime is not None:
            params["ResponseContentType"] = mime
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url
