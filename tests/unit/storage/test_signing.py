from __future__ import annotations

from pixelmill.storage.signing import check_signature, sign_path, verify_signature

SECRET = b"secret-for-signing-tests"


def test_a_signed_path_verifies_until_it_expires() -> None:
    signed = sign_path(SECRET, "/v1/files/file_1/content", 60, now=1_000)
    assert signed.expires == 1_060
    assert verify_signature(SECRET, signed.path, signed.expires, signed.sig, now=1_059)
    assert not verify_signature(SECRET, signed.path, signed.expires, signed.sig, now=1_061)


def test_changing_path_expiry_signature_or_secret_breaks_it() -> None:
    signed = sign_path(SECRET, "/v1/files/file_1/content", 60, now=1_000)
    assert not verify_signature(SECRET, "/v1/files/file_2/content", signed.expires, signed.sig, now=1_000)
    assert not verify_signature(SECRET, signed.path, signed.expires + 1, signed.sig, now=1_000)
    assert not verify_signature(SECRET, signed.path, signed.expires, signed.sig[:-1] + "0", now=1_000)
    assert not verify_signature(b"other", signed.path, signed.expires, signed.sig, now=1_000)


def test_only_a_genuine_link_is_told_it_expired() -> None:
    signed = sign_path(SECRET, "/v1/files/file_1/content", 60, now=1_000)
    assert check_signature(SECRET, signed.path, signed.expires, signed.sig, now=1_059) == "valid"
    assert check_signature(SECRET, signed.path, signed.expires, signed.sig, now=1_061) == "expired"
    assert check_signature(SECRET, "/v1/files/file_2/content", signed.expires, signed.sig, now=1_061) == "forged"
    assert check_signature(SECRET, signed.path, signed.expires - 100, signed.sig, now=1_061) == "forged"


def test_links_render_relative_and_absolute() -> None:
    signed = sign_path(SECRET, "/v1/files/f/thumbnail", 10, now=0)
    assert signed.relative == f"/v1/files/f/thumbnail?expires=10&sig={signed.sig}"
    assert signed.absolute("http://h:1/") == f"http://h:1{signed.relative}"


def test_a_signature_with_non_ascii_or_surrogate_characters_is_forged_not_an_error() -> None:
    signed = sign_path(SECRET, "/v1/files/file_1/content", 60, now=1_000)
    for sig in ("\u00c5\u00c8", "\U0002ca8cD", "\udc80"):
        assert check_signature(SECRET, signed.path, signed.expires, sig, now=1_000) == "forged"
