"""Signed, expiring URLs: ``<path>?expires=<unix>&sig=<hex>`` with an HMAC-SHA256 over both.

A signed link lets a browser or a downstream service fetch one file or output without a bearer
credential, for a short while. The signature covers the path and the expiry, so neither can be
changed; checking uses a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from pixelmill.storage.base import BlobStore, PresigningBlobStore


def _signature(secret: bytes, path: str, expires: int) -> str:
    message = f"{path}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedUrl:
    """A path with its signature query, relative to the server's public URL."""

    path: str
    expires: int
    sig: str

    @property
    def relative(self) -> str:
        return f"{self.path}?{urlencode({'expires': self.expires, 'sig': self.sig})}"

    def absolute(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{self.relative}"


def sign_path(secret: bytes, path: str, ttl_seconds: int, *, now: float | None = None) -> SignedUrl:
    """Sign ``path`` (beginning with ``/``) so that it is valid for ``ttl_seconds`` from now."""
    expires = int(now if now is not None else time.time()) + ttl_seconds
    return SignedUrl(path=path, expires=expires, sig=_signature(secret, path, expires))


LinkCheck = Literal["valid", "expired", "forged"]


def check_signature(secret: bytes, path: str, expires: int, sig: str, *, now: float | None = None) -> LinkCheck:
    """Whether ``sig`` was made for ``path`` and ``expires`` with ``secret``, and if so whether it is
    still valid. Only a genuine link is ever told it expired: a forged one learns nothing, not even
    whether its path names anything."""
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a query string can hold any.
    if not hmac.compare_digest(_signature(secret, path, expires).encode(), sig.encode("utf-8", "surrogatepass")):
        return "forged"
    current = now if now is not None else time.time()
    return "expired" if expires < current else "valid"


def verify_signature(secret: bytes, path: str, expires: int, sig: str, *, now: float | None = None) -> bool:
    """True when ``sig`` was made for ``path`` and ``expires`` with ``secret`` and has not expired."""
    return check_signature(secret, path, expires, sig, now=now) == "valid"


@dataclass(frozen=True, slots=True)
class MediaLink:
    """An absolute link to stored media and when it stops working."""

    url: str
    expires: int


def media_link(
    blobs: BlobStore, *, path: str, sha256: str, mime: str | None, secret: bytes, ttl_seconds: int, base_url: str
) -> MediaLink:
    """The link a client gets for one blob: presigned on the bucket when the store can presign (the
    bytes never pass through an API process), else ``path`` on this server signed with ``secret``."""
    if isinstance(blobs, PresigningBlobStore):
        expires = int(time.time()) + ttl_seconds
        return MediaLink(blobs.presigned_url(sha256, ttl_seconds=ttl_seconds, mime=mime), expires)
    signed = sign_path(secret, path, ttl_seconds)
    return MediaLink(signed.absolute(base_url), signed.expires)
