"""Password hashing with argon2id (the argon2-cffi defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pixelmill import errors
from pixelmill.errors import PixelmillError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # argon2 hashes anything, but an unbounded input is a cheap way to burn CPU

_hasher = PasswordHasher()

# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("pixelmill-timing-equaliser")


def check_password_policy(password: str, *, field: str = "password") -> None:
    """Refuse passwords that are too short or too long, naming the field, before anything is written."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"{field}: must be at least {MIN_PASSWORD_LENGTH} characters",
            field=field,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"{field}: must be at most {MAX_PASSWORD_LENGTH} characters",
            field=field,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, spends the same effort and returns False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
