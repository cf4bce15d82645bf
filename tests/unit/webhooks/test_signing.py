from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from pixelmill import webhooks
from pixelmill.config import Settings
from pixelmill.webhooks.delivery import next_delay, retry_after_seconds
from pixelmill.webhooks.signing import generate_secret, signature_headers, standard_key

BODY = b'{"event":"run_complete","run_id":"run_1","status":"completed","outputs":{},"credits_used":3}'
NOW = 1_716_372_924


def only(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name in names}


def test_pixelmill_header_is_hex_hmac_of_timestamp_dot_body() -> None:
    headers = signature_headers(["s3cret"], "msg_1", NOW, BODY)
    expected = hmac.new(b"s3cret", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers["X-Pixelmill-Signature"] == f"t={NOW},v1={expected}"
    assert headers["X-Imageat-Signature"] == headers["X-Pixelmill-Signature"]


def test_standard_signature_uses_decoded_whsec_key_over_id_timestamp_body() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = signature_headers([secret], "msg_2", NOW, BODY)
    digest = hmac.new(key, f"msg_2.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert headers["webhook-id"] == "msg_2"
    assert headers["webhook-timestamp"] == str(NOW)


def test_generated_secret_is_whsec_with_32_key_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(standard_key(secret)) == 32
    assert generate_secret() != secret


@pytest.mark.parametrize(
    "names",
    [("X-Pixelmill-Signature",), ("X-Imageat-Signature",), ("webhook-id", "webhook-timestamp", "webhook-signature")],
)
def test_verify_accepts_either_scheme(names: tuple[str, ...]) -> None:
    secret = generate_secret()
    headers = only(signature_headers([secret], "msg_3", NOW, BODY), *names)
    webhooks.verify(secret, headers, BODY, now=NOW + 10)


def test_verify_reads_headers_case_insensitively_and_accepts_text_body() -> None:
    secret = generate_secret()
    headers = {k.upper(): v for k, v in signature_headers([secret], "msg_3", NOW, BODY).items()}
    webhooks.verify(secret, headers, BODY.decode(), now=NOW)


@pytest.mark.parametrize(
    "names", [("X-Pixelmill-Signature",), ("webhook-id", "webhook-timestamp", "webhook-signature")]
)
def test_tampered_body_fails_verification(names: tuple[str, ...]) -> None:
    secret = generate_secret()
    headers = only(signature_headers([secret], "msg_4", NOW, BODY), *names)
    with pytest.raises(webhooks.WebhookVerificationError, match="No v1 signature matches"):
        webhooks.verify(secret, headers, BODY.replace(b'"credits_used":3', b'"credits_used":0'), now=NOW)


@pytest.mark.parametrize(
    "names", [("X-Pixelmill-Signature",), ("webhook-id", "webhook-timestamp", "webhook-signature")]
)
def test_stale_or_future_timestamp_fails_verification(names: tuple[str, ...]) -> None:
    secret = generate_secret()
    headers = only(signature_headers([secret], "msg_5", NOW, BODY), *names)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(secret, headers, BODY, now=NOW + 301)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(secret, headers, BODY, now=NOW - 301)
    webhooks.verify(secret, headers, BODY, tolerance=400, now=NOW + 301)


def test_wrong_secret_and_missing_headers_fail_verification() -> None:
    headers = signature_headers([generate_secret()], "msg_6", NOW, BODY)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(generate_secret(), headers, BODY, now=NOW)
    with pytest.raises(webhooks.WebhookVerificationError, match="neither"):
        webhooks.verify(generate_secret(), {"content-type": "application/json"}, BODY, now=NOW)


def test_standard_webhook_id_is_part_of_the_signed_content() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "msg_7", NOW, BODY)
    headers["webhook-id"] = "msg_other"
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(secret, headers, BODY, now=NOW)


def test_during_rotation_both_secrets_sign_space_separated() -> None:
    new, old = generate_secret(), generate_secret()
    headers = signature_headers([new, old], "msg_8", NOW, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["X-Pixelmill-Signature"].count("v1=") == 2
    for secret in (new, old):
        for names in (("X-Pixelmill-Signature",), ("webhook-id", "webhook-timestamp", "webhook-signature")):
            webhooks.verify(secret, only(headers, *names), BODY, now=NOW)


def test_without_a_secret_only_id_and_timestamp_are_sent() -> None:
    assert signature_headers([], "msg_9", NOW, BODY) == {"webhook-id": "msg_9", "webhook-timestamp": str(NOW)}


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 5, 22, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Fri, 22 May 2026 10:01:00 GMT", now) == 60
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_retry_delays_follow_the_schedule_with_jitter_and_end() -> None:
    schedule = [5.0, 300.0]
    assert 4.5 <= (next_delay(schedule, 1, None) or 0) <= 5.5
    assert 270 <= (next_delay(schedule, 2, None) or 0) <= 330
    assert next_delay(schedule, 1, 60.0) == 60.0
    assert next_delay(schedule, 3, None) is None


@pytest.mark.parametrize("signature", ["v1=\u00c5\u00c8", "v1=\udc80"])
def test_a_non_ascii_pixelmill_signature_fails_verification_cleanly(signature: str) -> None:
    headers = {"X-Pixelmill-Signature": f"t={NOW},{signature}"}
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(generate_secret(), headers, BODY, now=NOW)


def test_the_signature_goes_under_exactly_the_named_headers() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "msg_10", NOW, BODY, ["X-Acme-Signature"])
    expected = hmac.new(secret.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers["X-Acme-Signature"] == f"t={NOW},v1={expected}"
    assert not {"X-Pixelmill-Signature", "X-Imageat-Signature"} & set(headers)
    acme = only(headers, "X-Acme-Signature")
    webhooks.verify(secret, acme, BODY, now=NOW, signed_headers=["X-Acme-Signature"])
    with pytest.raises(webhooks.WebhookVerificationError, match="neither X-Pixelmill-Signature nor"):
        webhooks.verify(secret, acme, BODY, now=NOW)
    assert set(signature_headers([secret], "msg_11", NOW, BODY, [])) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }


@pytest.mark.parametrize("names", [["X Bad"], ["X-Sig", "x-sig"], ["webhook-signature"], [""]])
def test_signature_header_settings_must_be_distinct_header_names(names: list[str]) -> None:
    with pytest.raises(ValueError, match="webhook_signature_headers"):
        Settings(webhook_signature_headers=names)
