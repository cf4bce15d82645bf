"""Key rotation with overlap, over real HTTP on SQLite and PostgreSQL: the old key keeps working
for the configured grace period and then stops; revoke ends it at once; a dead key is not rotated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.server import start_server

GRACE_SECONDS = 3.0  # short, so the test sees the end of the grace period; the default is 24 h


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _me(api: httpx.Client, key: str) -> int:
    return api.get("/v1/auth/me", headers=_bearer(key)).status_code


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def short_grace_api(settings: Settings) -> Iterator[httpx.Client]:
    """A server whose rotated keys overlap for GRACE_SECONDS; the auth cache (10 s) outlives that,
    so an old key cached during its grace must still stop on time."""
    server = start_server(settings.model_copy(update={"key_rotation_grace_seconds": GRACE_SECONDS}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


def test_the_old_key_works_during_the_grace_period_and_stops_after(
    short_grace_api: httpx.Client, account: SeededAccount
) -> None:
    api = short_grace_api
    assert _me(api, account.key) == 200  # cached by the server before the rotation
    # The client rotates its own key with that key, as a deploy script would.
    response = api.post(f"/v1/keys/{account.key_id}/rotate", headers=account.headers)
    assert response.status_code == 201, response.text
    rotated = response.json()
    new_key, previous = rotated["key"], rotated["previous"]
    assert previous["id"] == account.key_id
    assert previous["status"] == "rotating"
    assert previous["replaced_by"] == rotated["id"]
    expires_at = _when(previous["expires_at"])
    assert timedelta(0) < expires_at - datetime.now(UTC) <= timedelta(seconds=GRACE_SECONDS)

    # During the grace period both keys work, and the list says when the old one stops.
    assert _me(api, account.key) == 200
    assert _me(api, new_key) == 200
    listed = {k["id"]: k for k in api.get("/v1/keys", headers=_bearer(new_key)).json()["data"]}
    assert listed[account.key_id]["status"] == "rotating"
    assert _when(listed[account.key_id]["expires_at"]) == expires_at
    assert listed[rotated["id"]]["status"] == "active"
    assert listed[rotated["id"]]["expires_at"] is None

    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
    refused = api.get("/v1/auth/me", headers=account.headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert _me(api, new_key) == 200
    assert account.key_id not in {k["id"] for k in api.get("/v1/keys", headers=_bearer(new_key)).json()["data"]}
    read = api.get(f"/v1/keys/{account.key_id}", headers=_bearer(new_key))
    assert read.status_code == 200
    assert (read.json()["status"], read.json()["replaced_by"]) == ("expired", rotated["id"])
    again = api.post(f"/v1/keys/{account.key_id}/rotate", headers=_bearer(new_key))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "KEY_REVOKED"


def test_revoking_a_key_in_its_grace_period_ends_it_at_once(api: httpx.Client, account: SeededAccount) -> None:
    old = api.post("/v1/keys", json={"name": "deploy"}, headers=account.headers).json()
    assert _me(api, old["key"]) == 200  # cached
    rotated = api.post(f"/v1/keys/{old['id']}/rotate", headers=account.headers).json()
    assert _when(rotated["previous"]["expires_at"]) - datetime.now(UTC) > timedelta(hours=23)  # the 24 h default
    assert _me(api, old["key"]) == 200
    revoked = api.delete(f"/v1/keys/{old['id']}", headers=account.headers)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert _me(api, old["key"]) == 401
    assert _me(api, rotated["key"]) == 200
    read = api.get(f"/v1/keys/{old['id']}", headers=account.headers).json()
    assert read["status"] == "revoked"
    assert read["revoked_at"] is not None


def test_a_revoked_key_is_not_rotated_or_revoked_again(api: httpx.Client, account: SeededAccount) -> None:
    key = api.post("/v1/keys", json={"name": "gone"}, headers=account.headers).json()
    api.delete(f"/v1/keys/{key['id']}", headers=account.headers)
    for response in (
        api.post(f"/v1/keys/{key['id']}/rotate", headers=account.headers),
        api.delete(f"/v1/keys/{key['id']}", headers=account.headers),
    ):
        assert response.status_code == 409
        error = response.json()["error"]
        assert (error["code"], error["key_status"]) == ("KEY_REVOKED", "revoked")
    assert {k["id"] for k in api.get("/v1/keys", headers=account.headers).json()["data"]} == {account.key_id}


def test_a_rotated_key_is_rotated_once_and_names_its_replacement(api: httpx.Client, account: SeededAccount) -> None:
    key = api.post("/v1/keys", json={"name": "ci"}, headers=account.headers).json()
    first = api.post(f"/v1/keys/{key['id']}/rotate", headers=account.headers).json()
    second = api.post(f"/v1/keys/{key['id']}/rotate", headers=account.headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "KEY_ALREADY_ROTATED"
    assert second.json()["error"]["replaced_by"] == first["id"]
    chained = api.post(f"/v1/keys/{first['id']}/rotate", headers=account.headers)
    assert chained.status_code == 201
    assert chained.json()["previous"]["id"] == first["id"]
    working = {k["id"]: k["status"] for k in api.get("/v1/keys", headers=account.headers).json()["data"]}
    assert working == {
        account.key_id: "active",
        key["id"]: "rotating",
        first["id"]: "rotating",
        chained.json()["id"]: "active",
    }


def test_grace_zero_ends_the_old_key_at_rotation(settings: Settings, account: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"key_rotation_grace_seconds": 0}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            assert _me(api, account.key) == 200
            rotated = api.post(f"/v1/keys/{account.key_id}/rotate", headers=account.headers).json()
            assert rotated["previous"]["status"] == "expired"
            assert _me(api, account.key) == 401
            assert _me(api, rotated["key"]) == 200
    finally:
        server.stop()
