"""ima2's two error bodies: what its CLI (``json.error.message || json.error``, ``json.error.code ||
json.code``) and its web client read from each."""

from __future__ import annotations

import json

from pixelmill import errors
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.errors import FLAT, NESTED
from pixelmill.errors import PixelmillError


def _answer(envelope: object, exc: PixelmillError) -> tuple[int, dict[str, object], dict[str, str]]:
    response = envelope.response(exc)  # type: ignore[attr-defined]
    return response.status_code, json.loads(response.body), dict(response.headers)


def test_flat_puts_the_message_in_error_and_extras_beside_it() -> None:
    exc = PixelmillError(ima2_errors.TOO_MANY_JOBS, headers={"Retry-After": "5"}, requestId="req_1")
    status, body, headers = _answer(FLAT, exc)
    assert status == 429
    assert body == {"error": "Too many concurrent generation jobs", "code": "TOO_MANY_JOBS", "requestId": "req_1"}
    assert headers["retry-after"] == "5"


def test_nested_puts_code_and_message_under_error() -> None:
    exc = PixelmillError(ima2_errors.GRAPH_VERSION_CONFLICT, currentVersion=4)
    status, body, _ = _answer(NESTED, exc)
    assert status == 409
    assert body == {
        "error": {"code": "GRAPH_VERSION_CONFLICT", "message": "The graph was saved by someone else meanwhile"},
        "currentVersion": 4,
    }


def test_pixelmill_validation_becomes_ima2_invalid_request_400() -> None:
    exc = PixelmillError(errors.VALIDATION_ERROR, "title: too long")
    for envelope in (FLAT, NESTED):
        status, body, _ = _answer(envelope, exc)
        assert status == 400
        code = body["code"] if envelope is FLAT else body["error"]["code"]  # type: ignore[index]
        assert code == "INVALID_REQUEST"


def test_canonical_codes_keep_their_status_and_name() -> None:
    status, body, _ = _answer(NESTED, PixelmillError(errors.SSE_CAPACITY))
    assert status == 503
    assert body["error"] == {"code": "SSE_CAPACITY", "message": errors.SSE_CAPACITY.message}


def test_a_safety_refusal_stays_422_as_in_ima2() -> None:
    status, body, _ = _answer(FLAT, PixelmillError(errors.SAFETY_REFUSAL, "refused"))
    assert status == 422
    assert body["code"] == "SAFETY_REFUSAL"
    assert ima2_errors.wire_status(errors.SAFETY_REFUSAL) == 422
    assert ima2_errors.wire_status(errors.INVALID_INPUT) == 400


def test_no_credential_is_ima2s_lan_token_required() -> None:
    status, body, _ = _answer(NESTED, PixelmillError(errors.UNAUTHENTICATED))
    assert status == 401
    assert body["error"]["code"] == "LAN_TOKEN_REQUIRED"  # type: ignore[index]
