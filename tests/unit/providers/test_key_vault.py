"""The key vault seals keys under the server secret and opens them only with the same secret."""

from __future__ import annotations

import pytest

from pixelmill.providers.key_vault import KeyVault, UnreadableKey, derive_fernet_key, mask_key

SECRET = b"test-secret-key-that-is-long-enough-for-hs256"
KEY = "sk-proj-0123456789abcdefghijWXYZ"


def test_a_sealed_key_opens_to_itself_and_is_not_the_key() -> None:
    vault = KeyVault(SECRET)
    sealed = vault.seal(KEY)
    assert KEY not in sealed
    assert "WXYZ" not in sealed
    assert vault.open(sealed) == KEY
    assert vault.seal(KEY) != sealed  # a fresh IV each time: equal keys do not look equal at rest


def test_another_secret_cannot_open_it() -> None:
    sealed = KeyVault(SECRET).seal(KEY)
    with pytest.raises(UnreadableKey) as refused:
        KeyVault(b"another-secret-entirely-and-long-enough").open(sealed)
    assert KEY not in str(refused.value)


def test_an_altered_ciphertext_is_refused() -> None:
    vault = KeyVault(SECRET)
    sealed = vault.seal(KEY)
    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(UnreadableKey):
        vault.open(altered)
    with pytest.raises(UnreadableKey):
        vault.open("not a token")


def test_the_derived_key_is_not_the_secret_and_depends_on_it() -> None:
    derived = derive_fernet_key(SECRET)
    assert len(derived) == 44  # 32 bytes, base64url
    assert SECRET not in derived
    assert derive_fernet_key(SECRET) == derived
    assert derive_fernet_key(SECRET + b"x") != derived


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk-proj-0123456789abcdefghijWXYZ", "sk-\u2026WXYZ"),
        ("xai-0123456789abcdefghij1234", "xai-\u2026" + "1234"),
        ("r8_0123456789abcdefghijQRST", "\u2026QRST"),
        ("AIzaSyA0123456789abcdefghij9876", "\u20269876"),
        ("short-key", "\u2026"),
    ],
)
def test_a_masked_key_shows_a_vendor_prefix_and_at_most_four_last_characters(key: str, masked: str) -> None:
    assert mask_key(key) == masked
