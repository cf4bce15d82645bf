"""The blob store interface: content-addressed bytes, keyed by their SHA-256."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class BlobStore(Protocol):
    """Immutable blobs by content hash; writing the same bytes twice stores them once."""

    async def put(self, data: bytes) -> str:
        """Store ``data``; return its sha256 hex digest."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The blob's bytes; KeyError when absent."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None: ...

    async def check(self) -> None:
        """Raise when the store cannot be written (for /readyz and doctor)."""
        ...


@runtime_checkable
class PresigningBlobStore(BlobStore, Protocol):
    """A store clients can download from directly (S3): links to it replace links through the API."""

    def presigned_url(self, sha256: str, *, ttl_seconds: int, mime: str | None = None) -> str:
        """A GET link to the blob, valid for ``ttl_seconds``, served as ``mime`` when given."""
        ...
