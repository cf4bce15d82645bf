"""Prefixed, time-sortable identifiers (`run_01J…`, `key_01J…`).

A ULID body (48-bit millisecond timestamp + 80 random bits, Crockford base32) sorts by creation
time as text, so "newest first" is an index scan and ids can double as pagination cursors.

A ULID and a UUID are both 128 bits, so an id reads as a UUID and back without a table
(:func:`as_uuid`, :func:`from_uuid`), for foreign APIs whose ids are UUIDs. :func:`new_uuid_id`
makes an id whose bits are also a well-formed UUIDv7 (its version and variant bits set), which
strict UUID validators accept; it sorts by time like any other id.
"""

from __future__ import annotations

import secrets
import time
import uuid

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {char: index for index, char in enumerate(_ALPHABET)}
_BODY_LENGTH = 26
# UUIDv7 inside the 80 bits after the timestamp: version 7 in bits 76-79, variant 0b10 in bits 62-63.
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_MASK = ((1 << 80) - 1) & ~(0xF << 76) & ~(0b11 << 62)


def _encode(value: int) -> str:
    chars = []
    for _ in range(_BODY_LENGTH):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def _ulid() -> str:
    return _encode((int(time.time() * 1000) << 80) | secrets.randbits(80))


def new_id(prefix: str) -> str:
    """Return a new id such as ``run_01J9Z…``; the prefix names the resource kind."""
    return f"{prefix}_{_ulid()}"


def new_uuid_id(prefix: str) -> str:
    """A new id like :func:`new_id` whose :func:`as_uuid` is a UUIDv7 (74 random bits instead of 80)."""
    random = secrets.randbits(80) & _RANDOM_MASK
    return f"{prefix}_{_encode((int(time.time() * 1000) << 80) | _VERSION_7 | _VARIANT | random)}"


def as_uuid(prefixed_id: str) -> uuid.UUID:
    """The 128 bits of an id's ULID body as a UUID; ValueError for anything that is not such an id."""
    _prefix, _, body = prefixed_id.rpartition("_")
    if len(body) != _BODY_LENGTH or body[0] not in "01234567":
        raise ValueError(f"{prefixed_id!r} is not a prefixed ULID")
    value = 0
    for char in body:
        index = _VALUES.get(char)
        if index is None:
            raise ValueError(f"{prefixed_id!r} is not a prefixed ULID")
        value = value * 32 + index
    return uuid.UUID(int=value)


def from_uuid(prefix: str, value: uuid.UUID) -> str:
    """The id of kind ``prefix`` whose :func:`as_uuid` is ``value``."""
    return f"{prefix}_{_encode(value.int)}"
