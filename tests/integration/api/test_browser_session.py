"""The console's cookie session over real HTTP: sign-in, the CSRF check on unsafe requests, workspace
switching, sign-out and one-time sign-in links, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx

from pixelmill.api.browser_session import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.sign_in_links import SIGN_IN_LINK_PATH, SignInLinks
from tests.support.accounts import SeededAccount, seed_account


def _sign_in(api: httpx.Client, account: SeededAccount) -> httpx.Response:
    response = api.post("/v1/auth/session", json={"email": account.email, "password": account.password})
    assert response.status_code == 200, response.text
    return response


def _set_cookie_headers(response: httpx.Response) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for value in response.headers.get_list("set-cookie")}


def test_a_session_cookie_acts_like_a_bearer_token_without_exposing_it(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    response = _sign_in(api, account)
    body = response.json()
    assert body["workspace_id"] == account.workspace_id
    assert "access_token" not in body
    cookies = _set_cookie_headers(response)
    session = cookies[SESSION_COOKIE].lower()
    assert "httponly" in session
    assert "samesite=lax" in session
    assert "path=/" in session
    assert "httponly" not in cookies[CSRF_COOKIE].lower()  # the console's script reads it
    token = api.cookies[SESSION_COOKIE]
    assert body["csrf_token"] == api.cookies[CSRF_COOKIE] == csrf_token(settings.secret, token)

    me = api.get("/v1/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == account.email
    assert me.json()["auth"]["method"] == "access_token"


def test_unsafe_requests_with_the_cookie_need_the_csrf_header(api: httpx.Client, account: SeededAccount) -> None:
    csrf = _sign_in(api, account).json()["csrf_token"]
    before = api.get("/v1/keys").json()["data"]

    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf[:-1]}):
        refused = api.post("/v1/keys", json={"name": "forged"}, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "CSRF_FAILED"
    assert api.get("/v1/keys").json()["data"] == before  # nothing was written

    created = api.post("/v1/keys", json={"name": "from the console"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    revoked = api.delete(f"/v1/keys/{created.json()['id']}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200, revoked.text


def test_a_bearer_credential_needs_no_csrf_header_even_beside_a_cookie(
    api: httpx.Client, account: SeededAccount
) -> None:
    _sign_in(api, account)
    created = api.post("/v1/keys", json={"name": "scripted"}, headers=account.headers)
    assert created.status_code == 201, created.text


def test_a_csrf_token_of_another_session_is_refused(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    _sign_in(api, account)
    stranger = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=api.base_url, timeout=30) as other:
        theirs = _sign_in(other, stranger).json()["csrf_token"]
    refused = api.post("/v1/keys", json={"name": "x"}, headers={"X-CSRF-Token": theirs})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "CSRF_FAILED"


def test_a_wrong_password_sets_no_cookie(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/auth/session", json={"email": account.email, "password": "not the password"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert not response.headers.get_list("set-cookie")
    assert api.get("/v1/auth/me").status_code == 401


def test_switching_workspace_and_signing_out(api: httpx.Client, account: SeededAccount) -> None:
    csrf = _sign_in(api, account).json()["csrf_token"]
    team = api.post("/v1/workspaces", json={"name": "team"}, headers={"X-CSRF-Token": csrf})
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]

    assert api.put("/v1/auth/session", json={"workspace_id": team_id}).json()["error"]["code"] == "CSRF_FAILED"
    switched = api.put("/v1/auth/session", json={"workspace_id": team_id}, headers={"X-CSRF-Token": csrf})
    assert switched.status_code == 200, switched.text
    assert api.get("/v1/auth/me").json()["workspace"]["id"] == team_id
    csrf = switched.json()["csrf_token"]
    unknown = api.put("/v1/auth/session", json={"workspace_id": "ws_unknown"}, headers={"X-CSRF-Token": csrf})
    assert unknown.status_code == 404

    assert api.delete("/v1/auth/session").status_code == 403  # a forged sign-out is refused too
    signed_out = api.delete("/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert signed_out.status_code == 204
    assert SESSION_COOKIE not in api.cookies
    assert api.get("/v1/auth/me").status_code == 401


def test_signing_out_revokes_that_session_and_no_other(api: httpx.Client, account: SeededAccount) -> None:
    csrf = _sign_in(api, account).json()["csrf_token"]
    token = api.cookies[SESSION_COOKIE]
    assert api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200  # cached now
    with httpx.Client(base_url=str(api.base_url)) as other_browser:
        _sign_in(other_browser, account)
        other = other_browser.cookies[SESSION_COOKIE]
    assert api.delete("/v1/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204

    # A copy of the cookie taken before the sign-out is refused, as a cookie or a bearer token.
    stolen = api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert stolen.status_code == 401
    assert stolen.json()["error"]["message"] == "This session was signed out"
    api.cookies.set(SESSION_COOKIE, token)
    assert api.get("/v1/auth/me").status_code == 401
    assert api.delete("/v1/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    api.cookies.clear()
    # The other browser's session goes on; signing out twice is harmless.
    assert api.get("/v1/auth/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def _issue_link(settings: Settings, account: SeededAccount, ttl: int = 600) -> str:
    async def issue() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                return await SignInLinks(session).issue(account.user_id, account.workspace_id, ttl)
        finally:
            await db.dispose()

    return asyncio.run(issue())


def test_a_sign_in_link_opens_a_session_once(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    token = _issue_link(settings, account)
    followed = api.get(SIGN_IN_LINK_PATH, params={"token": token})
    assert followed.status_code == 303
    assert followed.headers["location"] == "/"
    assert api.get("/v1/auth/me").json()["user"]["email"] == account.email

    api.cookies.clear()
    again = api.get(SIGN_IN_LINK_PATH, params={"token": token})
    assert again.status_code == 303
    assert again.headers["location"] == "/sign-in?error=SIGN_IN_LINK_INVALID"
    assert not again.headers.get_list("set-cookie")
    assert api.get("/v1/auth/me").status_code == 401
    forged = api.get(SIGN_IN_LINK_PATH, params={"token": "not-a-token"})
    assert forged.headers["location"] == "/sign-in?error=SIGN_IN_LINK_INVALID"


def test_the_session_state_says_signed_out_without_an_error(api: httpx.Client, account: SeededAccount) -> None:
    assert api.get("/v1/auth/session").json() == {"signed_in": False, "workspace_id": None, "expires_at": None}
    api.cookies.set(SESSION_COOKIE, "not-a-token")
    assert api.get("/v1/auth/session").json()["signed_in"] is False
    api.cookies.clear()
    _sign_in(api, account)
    state = api.get("/v1/auth/session").json()
    assert (state["signed_in"], state["workspace_id"]) == (True, account.workspace_id)
    assert state["expires_at"] is not None


def test_the_first_start_operator_signs_in_by_password(api: httpx.Client, settings: Settings) -> None:
    operator = seed_account(settings.resolved_database_url, email="operator@localhost", operator=True)
    _sign_in(api, operator)  # an address without a dot, which an EmailStr would refuse
    assert api.get("/v1/auth/me").json()["user"]["is_operator"] is True
