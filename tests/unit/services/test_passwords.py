from __future__ import annotations

import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.services.passwords import check_password_policy, hash_password, verify_password


def test_a_password_verifies_against_its_own_hash_only() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "Correct horse battery staple")


def test_no_hash_never_verifies() -> None:
    assert not verify_password(None, "pixelmill-timing-equaliser")


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_policy_refuses_and_names_the_field(password: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        check_password_policy(password, field="new_password")
    assert caught.value.spec is errors.VALIDATION_ERROR
    assert caught.value.extra["field"] == "new_password"
