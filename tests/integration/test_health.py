from __future__ import annotations

import httpx


def test_healthz_and_request_id(api: httpx.Client) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"].startswith("req_")


def test_incoming_request_id_is_echoed(api: httpx.Client) -> None:
    response = api.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_readyz_checks_database(api: httpx.Client) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_unknown_route_uses_error_envelope(api: httpx.Client) -> None:
    response = api.get("/v1/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["detail"] == body["error"]["message"]


def test_oversized_body_is_refused_before_reading(api: httpx.Client, live_server: object) -> None:
    big = b"x" * (64 * 1024 * 1024 + 1)
    response = api.post("/healthz", content=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
