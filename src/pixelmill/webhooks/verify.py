"""Checking a webhook request on the receiving side: ``pixelmill.webhooks.verify(secret, headers, body)``.

Accepts a request signed under either scheme (``X-Pixelmill-Signature``/``X-Imageat-Signature``, or
the headers a server's ``webhook_signature_headers`` names, or the Standard Webhooks headers),
compares in constant time, and refuses timestamps further than ``tolerance`` seconds from now, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence

from pixelmill.webhooks.signing import (
    DEFAULT_SIGNED_HEADERS,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    pixelmill_signature,
    standard_signature,
)


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh webhook from this server; the message says which check failed."""


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _timestamp(raw: str, tolerance: float, now: float) -> int:
    try:
        timestamp = int(raw.strip())
    except ValueError:
        raise WebhookVerificationError(f"The webhook timestamp {raw!r} is not an integer") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"The webhook timestamp is {int(now - timestamp)} s from now, outside the {tolerance:g} s tolerance"
        )
    return timestamp


def _verify_pixelmill(secret: str, header: str, body: bytes, tolerance: float, now: float) -> None:
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.replace(",", " ").split():
        key, _, value = part.partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookVerificationError("The signature header has no t= timestamp or no v1= signature")
    expected = pixelmill_signature(secret, _timestamp(timestamp, tolerance, now), body)
    if not _any_matches(expected, candidates):
        raise WebhookVerificationError("No v1 signature matches the body and secret")


def _verify_standard(
    secret: str, webhook_id: str, raw_timestamp: str, header: str, body: bytes, tolerance: float, now: float
) -> None:
    expected = standard_signature(secret, webhook_id, _timestamp(raw_timestamp, tolerance, now), body)
    candidates = [value for version, _, value in (item.partition(",") for item in header.split()) if version == "v1"]
    if not candidates:
        raise WebhookVerificationError("The webhook-signature header has no v1 signature")
    if not _any_matches(expected, candidates):
        raise WebhookVerificationError("No v1 signature matches the body and secret")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: float = 300,
    *,
    now: float | None = None,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> None:
    """Return if ``body`` was signed with ``secret`` within ``tolerance`` seconds; raise
    WebhookVerificationError otherwise. Pass the raw body exactly as received, before any JSON parsing;
    ``signed_headers`` are where the sender puts ``t=…,v1=…`` (its ``webhook_signature_headers``)."""
    raw = body.encode() if isinstance(body, str) else body
    current = time.time() if now is None else now
    standard = _lookup(headers, SIGNATURE_HEADER)
    webhook_id = _lookup(headers, ID_HEADER)
    webhook_timestamp = _lookup(headers, TIMESTAMP_HEADER)
    if standard is not None and webhook_id is not None and webhook_timestamp is not None:
        _verify_standard(secret, webhook_id, webhook_timestamp, standard, raw, tolerance, current)
        return
    signed = next((value for name in signed_headers if (value := _lookup(headers, name)) is not None), None)
    if signed is not None:
        _verify_pixelmill(secret, signed, raw, tolerance, current)
        return
    raise WebhookVerificationError(
        f"The request carries neither {' nor '.join(signed_headers)} nor the "
        f"{ID_HEADER}/{TIMESTAMP_HEADER}/{SIGNATURE_HEADER} headers"
    )


def _any_matches(expected: str, candidates: list[str]) -> bool:
    """Constant-time comparison as bytes: compare_digest refuses str with non-ASCII characters, and a
    header can hold any, so a forged header must fail verification rather than raise TypeError."""
    wanted = expected.encode()
    return any(hmac.compare_digest(wanted, candidate.encode("utf-8", "surrogatepass")) for candidate in candidates)
