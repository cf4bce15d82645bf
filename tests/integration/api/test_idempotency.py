"""Idempotency-Key over real HTTP, exercised on a real create route (POST /v1/keys)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account


def _create_key(api: httpx.Client, account: SeededAccount, key: str, name: str = "ci") -> httpx.Response:
    return api.post(
        "/v1/keys", json={"name": name, "mode": "live"}, headers={**account.headers, "Idempotency-Key": key}
    )


def _key_count(api: httpx.Client, account: SeededAccount) -> int:
    response = api.get("/v1/keys", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    return len(body["data"] if isinstance(body, dict) else body)


def test_retry_with_same_key_replays_the_first_response(api: httpx.Client, account: SeededAccount) -> None:
    before = _key_count(api, account)
    first = _create_key(api, account, "retry-1")
    second = _create_key(api, account, "retry-1")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _key_count(api, account) == before + 1


def test_same_key_with_a_different_body_is_refused(api: httpx.Client, account: SeededAccount) -> None:
    assert _create_key(api, account, "reuse-1", name="one").status_code == 201
    response = _create_key(api, account, "reuse-1", name="two")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_twenty_concurrent_retries_create_one_resource(api: httpx.Client, account: SeededAccount) -> None:
    before = _key_count(api, account)
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: _create_key(api, account, "burst-1"), range(20)))
    created = [r for r in responses if r.status_code == 201]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_use) == 20
    assert created
    assert {r.json()["id"] for r in created} == {created[0].json()["id"]}
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in in_use)
    assert _key_count(api, account) == before + 1


def test_keys_are_scoped_to_the_workspace(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    other = seed_account(settings.resolved_database_url)
    mine = _create_key(api, account, "shared-name")
    theirs = _create_key(api, other, "shared-name")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_overlong_key_is_a_validation_error(api: httpx.Client, account: SeededAccount) -> None:
    response = _create_key(api, account, "k" * 256)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
