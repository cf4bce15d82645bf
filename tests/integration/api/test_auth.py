"""Sign-up, login, me, workspace switching and password resets over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.accounts import AccountService
from pixelmill.services.tokens import issue_access_token
from tests.support.accounts import SeededAccount
from tests.support.mail import logged_token

PASSWORD = "correct horse battery staple"


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def _signup(api: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = api.post("/v1/auth/signup", json={"email": email, "password": password, "name": "Ada"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _login(api: httpx.Client, email: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    return api.post("/v1/auth/login", data={"username": email, "password": password, **extra})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_signup_creates_a_user_with_a_personal_workspace(api: httpx.Client) -> None:
    email = _email()
    body = _signup(api, email.upper())
    assert body["user"]["email"] == email
    assert body["workspace"]["kind"] == "personal"
    assert body["workspace"]["plan"] == "free"
    assert body["workspace"]["role"] == "owner"
    assert body["token_type"] == "bearer"
    assert "password" not in str(body).lower()
    me = api.get("/v1/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["user"]["id"] == body["user"]["id"]


def test_signup_grants_starting_credits_and_example_workflows(api: httpx.Client, settings: Settings) -> None:
    body = _signup(api, _email())
    headers = _bearer(body["access_token"])
    wallet = api.get("/v1/credits/wallet", headers=headers).json()
    assert (wallet["balance"], wallet["reserved"]) == (settings.signup_credits, 0)
    assert api.get("/v1/credits/ledger", headers=headers).json()["data"][0]["note"] == "sign-up credits"
    workflows = api.get("/v1/workflows", headers=headers).json()
    assert len(workflows["data"]) >= 5


def test_duplicate_signup_is_409_email_taken(api: httpx.Client) -> None:
    email = _email()
    _signup(api, email)
    response = api.post("/v1/auth/signup", json={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "short"}, "password"),
    ],
    ids=["missing-email", "malformed-email", "missing-password", "short-password"],
)
def test_bad_signup_fields_are_422_naming_the_field(api: httpx.Client, body: dict[str, str], field: str) -> None:
    response = api.post("/v1/auth/signup", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field


def test_signup_can_be_closed(settings: Settings) -> None:
    from tests.support.server import start_server

    server = start_server(settings.model_copy(update={"signup_enabled": False}))
    try:
        response = httpx.post(f"{server.url}/v1/auth/signup", json={"email": _email(), "password": PASSWORD})
    finally:
        server.stop()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_login_returns_a_bearer_jwt_for_the_personal_workspace(api: httpx.Client) -> None:
    email = _email()
    signed_up = _signup(api, email)
    response = _login(api, email)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["workspace_id"] == signed_up["workspace"]["id"]
    me = api.get("/v1/auth/me", headers=_bearer(body["access_token"])).json()
    assert me["workspace"]["id"] == signed_up["workspace"]["id"]
    assert me["role"] == "owner"
    assert me["plan"]["name"] == "free"
    assert me["plan"]["api_access"] is False
    assert me["auth"]["method"] == "access_token"
    assert [w["id"] for w in me["workspaces"]] == [signed_up["workspace"]["id"]]


def test_wrong_password_and_unknown_email_give_the_same_401(api: httpx.Client) -> None:
    email = _email()
    _signup(api, email)
    wrong = _login(api, email, "not the password")
    unknown = _login(api, _email(), "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_login_needs_its_form_fields(api: httpx.Client) -> None:
    response = api.post("/v1/auth/login", data={"username": "a@example.com"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "password"


def test_repeated_failed_logins_are_throttled_per_email(api: httpx.Client, settings: Settings) -> None:
    email = _email()
    _signup(api, email)
    for _ in range(settings.login_failures_per_window):
        assert _login(api, email, "wrong password!").status_code == 401
    throttled = _login(api, email)  # even the right password waits out the window
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "LOGIN_THROTTLED"
    assert 0 < int(throttled.headers["Retry-After"]) <= settings.login_failure_window_seconds
    other = _email()
    _signup(api, other)
    assert _login(api, other).status_code == 200


def test_an_expired_jwt_is_401_token_expired(api: httpx.Client, settings: Settings, account: SeededAccount) -> None:
    token = issue_access_token(settings.secret, account.user_id, account.workspace_id, ttl_seconds=-5)
    response = api.get("/v1/auth/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_EXPIRED"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer pm_live_", "Bearer pm_test_garbage"],
    ids=["missing", "no-credential", "basic", "malformed-jwt", "bare-prefix", "unknown-key"],
)
def test_missing_or_malformed_credentials_are_401(api: httpx.Client, header: str | None) -> None:
    response = api.get("/v1/auth/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_me_with_an_api_key_names_the_key(api: httpx.Client, account: SeededAccount) -> None:
    me = api.get("/v1/auth/me", headers=account.headers).json()
    assert me["user"]["email"] == account.email
    assert me["workspace"]["id"] == account.workspace_id
    assert me["plan"]["name"] == "pro"
    assert me["plan"]["requests_per_minute"] == 30
    assert me["auth"] == {"method": "api_key", "key_id": account.key_id, "mode": "live", "scopes": me["auth"]["scopes"]}
    assert "keys" in me["auth"]["scopes"]


def test_a_token_can_be_switched_to_another_of_my_workspaces(api: httpx.Client) -> None:
    email = _email()
    signed_up = _signup(api, email)
    token = signed_up["access_token"]
    team = api.post("/v1/workspaces", json={"name": "Studio"}, headers=_bearer(token)).json()
    switched = api.post("/v1/auth/token", json={"workspace_id": team["id"]}, headers=_bearer(token))
    assert switched.status_code == 200
    assert switched.json()["workspace_id"] == team["id"]
    me = api.get("/v1/auth/me", headers=_bearer(switched.json()["access_token"])).json()
    assert me["workspace"]["id"] == team["id"]
    assert {w["id"] for w in me["workspaces"]} == {team["id"], signed_up["workspace"]["id"]}
    by_login = _login(api, email, workspace_id=team["id"])
    assert by_login.json()["workspace_id"] == team["id"]


def test_switching_to_a_foreign_workspace_is_404(api: httpx.Client, account: SeededAccount) -> None:
    token = _signup(api, _email())["access_token"]
    response = api.post("/v1/auth/token", json={"workspace_id": account.workspace_id}, headers=_bearer(token))
    assert response.status_code == 404
    login = _login(api, account.email, workspace_id=_signup(api, _email())["workspace"]["id"])
    assert login.status_code == 404


def test_forgot_password_answers_the_same_and_never_returns_the_token(
    api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    email = _email()
    _signup(api, email)
    known = api.post("/v1/auth/forgot-password", json={"email": email})
    unknown = api.post("/v1/auth/forgot-password", json={"email": _email()})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = logged_token(caplog, email)
    assert token not in known.text
    warnings = [r for r in caplog.records if r.name == "pixelmill.mail" and r.levelno == logging.WARNING]
    assert any("/v1/auth/reset-password" in r.getMessage() for r in warnings)


def test_a_reset_token_sets_a_new_password_once(api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    email = _email()
    _signup(api, email)
    api.post("/v1/auth/forgot-password", json={"email": email})
    token = logged_token(caplog, email)
    reset = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "a brand new password"})
    assert reset.status_code == 200
    assert _login(api, email).status_code == 401
    assert _login(api, email, "a brand new password").status_code == 200
    again = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "yet another password"})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "RESET_TOKEN_INVALID"


def test_unknown_and_expired_reset_tokens_are_refused(api: httpx.Client, settings: Settings) -> None:
    email = _email()
    _signup(api, email)

    async def expired_token() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                issued = await AccountService(session).issue_reset_token(email, ttl_seconds=-1)
        finally:
            await db.dispose()
        assert issued is not None
        return issued.token

    for token in (asyncio.run(expired_token()), "no-such-token"):
        response = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "a brand new password"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "RESET_TOKEN_INVALID"
    assert _login(api, email).status_code == 200


def test_a_short_new_password_is_422_and_keeps_the_token(api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    email = _email()
    _signup(api, email)
    api.post("/v1/auth/forgot-password", json={"email": email})
    token = logged_token(caplog, email)
    short = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "short"})
    assert short.status_code == 422
    assert short.json()["error"]["field"] == "new_password"
    ok = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "long enough now"})
    assert ok.status_code == 200
