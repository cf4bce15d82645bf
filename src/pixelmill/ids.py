"""Prefixed, time-sortable identifiers (`run_01J…`, `key_01J…`).

A ULID body (48-bit millisecond timestamp + 80 random bits, Crockford base32) sorts by creation
time as text, so "newest first" is an index scan and ids can double as pagination cursors.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return a new id such as ``run_01J9Z…``; the prefix names the resource kind."""
    return f"{prefix}_{_ulid()}"
