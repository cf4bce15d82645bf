"""Signing a webhook body under both schemes receivers know.

- imageat's: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` in each header the operator names
  (``webhook_signature_headers``; by default ``X-Pixelmill-Signature`` and ``X-Imageat-Signature``,
  so a receiver written against imageat's document verifies unchanged); the key is the secret
  string's UTF-8 bytes.
- Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64
  HMAC-SHA256(key, "<id>.<t>.<body>")>``; for a ``whsec_`` secret the key is the base64-decoded part
  after the prefix, for any other secret its UTF-8 bytes.

While a rotated secret overlaps with its successor both sign: the signatures are space-separated
in each header (``t=…,v1=…`` then `` v1=…``; ``v1,… v1,…``), and a receiver accepts any match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
PIXELMILL_HEADER = "X-Pixelmill-Signature"
IMAGEAT_HEADER = "X-Imageat-Signature"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (PIXELMILL_HEADER, IMAGEAT_HEADER)


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` and 32 random bytes in base64, as Standard Webhooks serialises keys."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    """The HMAC key Standard Webhooks derives from ``secret``."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            return secret.encode()
    return secret.encode()


def pixelmill_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex ``v1`` value of the imageat scheme."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The base64 ``v1`` value of the Standard Webhooks scheme."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(standard_key(secret), content, hashlib.sha256).digest()).decode()


def signature_headers(
    secrets_: Sequence[str],
    webhook_id: str,
    timestamp: int,
    body: bytes,
    names: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> dict[str, str]:
    """Every header of one delivery attempt, the ``t=…,v1=…`` value under each of ``names``. With no
    secret the request carries only the id and timestamp."""
    headers = {ID_HEADER: webhook_id, TIMESTAMP_HEADER: str(timestamp)}
    if not secrets_:
        return headers
    pixelmill = " ".join(f"v1={pixelmill_signature(secret, timestamp, body)}" for secret in secrets_)
    for name in names:
        headers[name] = f"t={timestamp},{pixelmill}"
    headers[SIGNATURE_HEADER] = " ".join(
        f"v1,{standard_signature(secret, webhook_id, timestamp, body)}" for secret in secrets_
    )
    return headers
