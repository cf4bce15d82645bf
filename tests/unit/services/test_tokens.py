from __future__ import annotations

import jwt
import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.services.tokens import decode_access_token, digest, issue_access_token, new_opaque_token

SECRET = b"unit-test-secret-unit-test-secret-unit-test"


def test_an_access_token_carries_user_and_workspace() -> None:
    token = issue_access_token(SECRET, "usr_1", "ws_1", ttl_seconds=60)
    claims = decode_access_token(SECRET, token)
    assert (claims["sub"], claims["ws"], claims["typ"]) == ("usr_1", "ws_1", "access")
    assert claims["exp"] - claims["iat"] == 60


def test_an_expired_token_is_token_expired() -> None:
    token = issue_access_token(SECRET, "usr_1", "ws_1", ttl_seconds=-1)
    with pytest.raises(PixelmillError) as caught:
        decode_access_token(SECRET, token)
    assert caught.value.spec is errors.TOKEN_EXPIRED


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        issue_access_token(b"another-secret-another-secret-another-secret", "usr_1", "ws_1", 60),
        jwt.encode({"sub": "usr_1", "ws": "ws_1", "exp": 9999999999, "typ": "refresh"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "usr_1", "exp": 9999999999, "typ": "access"}, SECRET, algorithm="HS256"),
    ],
    ids=["garbage", "wrong-secret", "wrong-type", "no-workspace"],
)
def test_invalid_tokens_are_unauthenticated(token: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        decode_access_token(SECRET, token)
    assert caught.value.spec is errors.UNAUTHENTICATED


def test_opaque_tokens_are_random_and_stored_as_sha256() -> None:
    first, second = new_opaque_token(), new_opaque_token()
    assert first != second
    assert len(first) >= 43
    assert len(digest(first)) == 64
    assert digest(first) != first
