"""Access tokens (JWT, HS256) and opaque single-use tokens stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from pixelmill import errors
from pixelmill.errors import PixelmillError

_ALGORITHM = "HS256"


def issue_access_token(secret: bytes, user_id: str, workspace_id: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "ws": workspace_id,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "typ": "access",
        # Two sign-ins in one second would otherwise mint the same token, and signing one out
        # (revoked_tokens, by digest) would sign out the other.
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def decode_access_token(secret: bytes, token: str) -> dict[str, Any]:
    """The token's claims; expired -> TOKEN_EXPIRED, anything else wrong -> UNAUTHENTICATED."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub", "ws"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise PixelmillError(errors.TOKEN_EXPIRED) from exc
    except jwt.InvalidTokenError as exc:
        raise PixelmillError(errors.UNAUTHENTICATED) from exc
    if claims.get("typ") != "access":
        raise PixelmillError(errors.UNAUTHENTICATED)
    return claims


def new_opaque_token() -> str:
    """A URL-safe token with 256 random bits, for reset links and invitations."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """SHA-256 hex digest: how high-entropy tokens and API keys are stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()
