"""API keys over real HTTP: shown once, listed without secrets, revoked, rotated, scoped, plan-gated."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from pixelmill.config import Settings
from pixelmill.db.models import ApiKey
from pixelmill.db.session import Database
from pixelmill.services.workspaces import WorkspaceService
from tests.support.accounts import SeededAccount, seed_account
from tests.support.mail import logged_token
from tests.support.server import start_server


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _set_plan(settings: Settings, workspace_id: str, plan: str) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await WorkspaceService(session).set_plan(workspace_id, plan, settings.plans)
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_created_key_is_shown_once_and_works(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/keys", json={"name": "ci", "mode": "test"}, headers=account.headers)
    assert response.status_code == 201
    created = response.json()
    assert created["key"].startswith("pm_test_")
    assert len(created["key"]) >= len("pm_test_") + 43  # 32 random bytes, base64url
    assert created["key"].startswith(created["prefix"])
    assert created["mode"] == "test"
    me = api.get("/v1/auth/me", headers=_bearer(created["key"])).json()
    assert me["auth"]["key_id"] == created["id"]
    assert me["auth"]["mode"] == "test"
    listed = api.get("/v1/keys", headers=account.headers).json()["data"]
    assert {k["id"] for k in listed} == {created["id"], account.key_id}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert created["key"] not in str(listed)


def test_list_shows_prefix_name_mode_and_last_use(api: httpx.Client, account: SeededAccount) -> None:
    api.get("/v1/auth/me", headers=account.headers)
    (listed,) = [k for k in api.get("/v1/keys", headers=account.headers).json()["data"] if k["id"] == account.key_id]
    assert listed["name"] == "test"
    assert listed["mode"] == "live"
    assert account.key.startswith(listed["prefix"])
    assert listed["prefix"].startswith("pm_live_")
    assert listed["created_at"] is not None
    assert listed["last_used_at"] is not None


def test_a_revoked_key_is_401_at_once(api: httpx.Client, account: SeededAccount) -> None:
    created = api.post("/v1/keys", json={"name": "temp"}, headers=account.headers).json()
    assert api.get("/v1/auth/me", headers=_bearer(created["key"])).status_code == 200  # now cached
    revoked = api.delete(f"/v1/keys/{created['id']}", headers=account.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = api.get("/v1/auth/me", headers=_bearer(created["key"]))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert created["id"] not in {k["id"] for k in api.get("/v1/keys", headers=account.headers).json()["data"]}
    again = api.delete(f"/v1/keys/{created['id']}", headers=account.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "KEY_REVOKED")


def test_rotation_replaces_the_key_keeping_name_mode_and_scopes(api: httpx.Client, account: SeededAccount) -> None:
    old = api.post(
        "/v1/keys", json={"name": "deploy", "mode": "test", "scopes": ["runs", "files"]}, headers=account.headers
    ).json()
    response = api.post(f"/v1/keys/{old['id']}/rotate", headers=account.headers)
    assert response.status_code == 201
    new = response.json()
    assert new["id"] != old["id"]
    assert new["key"] != old["key"]
    assert (new["name"], new["mode"], new["scopes"]) == ("deploy", "test", ["files", "runs"])
    # The old key overlaps with its replacement for the grace period (test_key_rotation.py covers its end).
    assert api.get("/v1/auth/me", headers=_bearer(old["key"])).status_code == 200
    assert api.get("/v1/auth/me", headers=_bearer(new["key"])).status_code == 200


def test_another_workspaces_key_id_is_404(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    other = seed_account(settings.resolved_database_url)
    for response in (
        api.get(f"/v1/keys/{other.key_id}", headers=account.headers),
        api.delete(f"/v1/keys/{other.key_id}", headers=account.headers),
        api.post(f"/v1/keys/{other.key_id}/rotate", headers=account.headers),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert api.get("/v1/auth/me", headers=other.headers).status_code == 200


def test_a_plan_without_api_access_cannot_create_keys(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    _set_plan(settings, account.workspace_id, "free")
    token = api.post("/v1/auth/login", data={"username": account.email, "password": account.password}).json()
    response = api.post("/v1/keys", json={"name": "x"}, headers=_bearer(token["access_token"]))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PLAN_FORBIDS"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "mode": "prod"}, "mode"),
        ({"name": "x", "scopes": "runs"}, "scopes"),
    ],
    ids=["missing-name", "blank-name", "bad-mode", "scopes-not-a-list"],
)
def test_bad_key_requests_are_422_naming_the_field(
    api: httpx.Client, account: SeededAccount, body: dict[str, object], field: str
) -> None:
    response = api.post("/v1/keys", json=body, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_unknown_scopes_are_refused(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/keys", json={"name": "x", "scopes": ["runs", "root"]}, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "scopes"


def test_a_key_cannot_mint_wider_keys(api: httpx.Client, account: SeededAccount) -> None:
    narrow = api.post("/v1/keys", json={"name": "n", "scopes": ["keys", "runs"]}, headers=account.headers).json()
    wider = api.post("/v1/keys", json={"name": "w", "scopes": ["files"]}, headers=_bearer(narrow["key"]))
    assert wider.status_code == 403
    assert wider.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    inherited = api.post("/v1/keys", json={"name": "i"}, headers=_bearer(narrow["key"])).json()
    assert inherited["scopes"] == ["keys", "runs"]
    no_keys_scope = api.post("/v1/keys", json={"name": "r", "scopes": ["runs"]}, headers=account.headers).json()
    refused = api.get("/v1/keys", headers=_bearer(no_keys_scope["key"]))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    test_key = api.post("/v1/keys", json={"name": "t", "mode": "test"}, headers=account.headers).json()
    live_from_test = api.post("/v1/keys", json={"name": "l", "mode": "live"}, headers=_bearer(test_key["key"]))
    assert live_from_test.status_code == 403


def test_members_cannot_manage_keys(
    api: httpx.Client, account: SeededAccount, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    team = api.post("/v1/workspaces", json={"name": "Team"}, headers=account.headers).json()
    owner = api.post("/v1/auth/token", json={"workspace_id": team["id"]}, headers=account.headers).json()
    email = f"m-{uuid.uuid4().hex[:8]}@example.com"
    member = api.post("/v1/auth/signup", json={"email": email, "password": "member password"}).json()
    api.post(f"/v1/workspaces/{team['id']}/invitations", json={"email": email}, headers=_bearer(owner["access_token"]))
    joined = api.post(
        "/v1/invitations/accept", json={"token": logged_token(caplog, email)}, headers=_bearer(member["access_token"])
    )
    assert joined.status_code == 200
    in_team = api.post("/v1/auth/token", json={"workspace_id": team["id"]}, headers=_bearer(member["access_token"]))
    response = api.post("/v1/keys", json={"name": "x"}, headers=_bearer(in_team.json()["access_token"]))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "INSUFFICIENT_ROLE"


def test_a_revocation_by_another_process_applies_within_the_cache_ttl(settings: Settings) -> None:
    account = seed_account(settings.resolved_database_url)
    server = start_server(settings.model_copy(update={"auth_cache_ttl_seconds": 0.5}))
    try:
        url = f"{server.url}/v1/auth/me"
        assert httpx.get(url, headers=account.headers).status_code == 200  # cached in the server

        async def revoke_elsewhere() -> None:  # another process: this server's cache is not told
            db = Database(settings.resolved_database_url)
            try:
                async with db.session() as session:
                    await session.execute(
                        update(ApiKey).where(ApiKey.id == account.key_id).values(revoked_at=datetime.now(UTC))
                    )
            finally:
                await db.dispose()

        asyncio.run(revoke_elsewhere())
        assert httpx.get(url, headers=account.headers).status_code == 200  # still within the TTL
        time.sleep(0.6)
        assert httpx.get(url, headers=account.headers).status_code == 401
    finally:
        server.stop()
