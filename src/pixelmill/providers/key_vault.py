"""Upstream API keys encrypted at rest, and the masked form lists show.

Keys are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived
from the server secret with HKDF-SHA256 and a fixed label, so the database alone reveals nothing
and the signing secret is never used as an encryption key directly. Changing the server secret
makes saved keys unreadable (:class:`UnreadableKey`): they must be set again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"pixelmill upstream provider keys v1"
MASK = "\u2026"  # the ellipsis between a key's public prefix and its last characters
TAIL = 4  # at most this many of a key's last characters are ever shown
SHORTEST_WITH_TAIL = 16  # a shorter key shows no tail: four characters would be too much of it


class UnreadableKey(Exception):
    """A sealed key that this server secret cannot open (the secret changed, or the row was altered)."""


def derive_fernet_key(secret: bytes) -> bytes:
    """The Fernet key for ``secret``: 32 bytes from HKDF-SHA256, base64url as Fernet wants it."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret)
    return base64.urlsafe_b64encode(derived)


class KeyVault:
    """Seals and opens upstream keys under the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._fernet = Fernet(derive_fernet_key(secret))

    def seal(self, key: str) -> str:
        return self._fernet.encrypt(key.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise UnreadableKey("the saved key cannot be decrypted with this server secret") from exc


def mask_key(key: str) -> str:
    """``sk-…WXYZ``: a vendor prefix (letters before the first ``-`` or ``_`` in the first four
    characters) and at most the last four characters, so a list tells keys apart and leaks nothing."""
    prefix = ""
    for index, char in enumerate(key[:4]):
        if char in "-_":
            prefix = key[: index + 1]
            break
        if not char.isalpha():
            break
    tail = key[-TAIL:] if len(key) >= SHORTEST_WITH_TAIL else ""
    return f"{prefix}{MASK}{tail}"
