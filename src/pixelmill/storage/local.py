"""Blobs in a local directory, content-addressed: ``<root>/ab/cd/abcd…`` named by their SHA-256.

Writes go to a temporary file in the target directory and are renamed into place with
``os.replace``, so a reader never sees half a blob and two writers of the same bytes both win.
There is no fsync: like the embedded database (WAL, synchronous=NORMAL) the store survives a
process crash, not a power cut.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from pixelmill.config import Settings
from pixelmill.storage.base import BlobStore

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _check_digest(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise KeyError(sha256)
    return sha256


class LocalBlobStore:
    """A BlobStore over a directory; two levels of sharding keep directories small."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        digest = _check_digest(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    def put_sync(self, data: bytes, sha256: str | None = None) -> str:
        """Store ``data`` (its digest may be passed when the caller already computed it)."""
        digest = sha256 or hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return digest

    def get_sync(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    async def put(self, data: bytes) -> str:
        return await asyncio.to_thread(self.put_sync, data)

    async def get(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, sha256)

    async def exists(self, sha256: str) -> bool:
        try:
            return self.path_for(sha256).is_file()
        except KeyError:
            return False

    async def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    async def check(self) -> None:
        await asyncio.to_thread(self._check_sync)

    def _check_sync(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".check-", dir=self.root)
        os.close(fd)
        Path(temp_name).unlink()


def open_blob_store(url: str, settings: Settings | None = None) -> BlobStore:
    """The blob store named by a storage URL: ``file://<directory>`` or ``s3://<bucket>/<prefix>``
    (the S3 endpoint and credentials come from ``settings``; without them, boto3's own chain)."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from pixelmill.storage.s3 import S3BlobStore

        return S3BlobStore.from_url(url, settings or Settings())
    if parsed.scheme != "file":
        raise ValueError(
            f"unsupported storage URL scheme {parsed.scheme!r}; use file://<directory> or s3://<bucket>/<prefix>"
        )
    return LocalBlobStore(Path(unquote(parsed.netloc + parsed.path)))
