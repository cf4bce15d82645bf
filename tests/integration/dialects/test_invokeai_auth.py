"""InvokeAI's auth and server detection against pixelmill on loopback (SQLite and PostgreSQL): JSON
login on the path ImagineLab's form login uses, Bearer mode, and single-user mode without a header."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from pixelmill.api.dialects.invokeai.routes_auth import INVOKEAI_VERSION
from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.server import LiveServer, start_server

TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans()})


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/images/upload",
        params={"image_category": "general", "is_intermediate": "false"},
        files={"file": ("green.png", png(), "image/png")},
        headers=headers,
    )


def test_the_server_says_which_invokeai_it_speaks_without_credentials(live_server: LiveServer) -> None:
    answer = httpx.get(f"{live_server.url}/api/v1/app/version")
    assert (answer.status_code, answer.json()) == (200, {"version": INVOKEAI_VERSION})
    status = httpx.get(f"{live_server.url}/api/v1/auth/status").json()
    assert status == {"setup_required": True, "multiuser_enabled": True, "strict_password_checking": False}


def test_json_login_answers_invokeais_token_and_the_token_is_a_bearer_credential(
    live_server: LiveServer, account: SeededAccount
) -> None:
    url = live_server.url
    answer = httpx.post(f"{url}/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"token", "user", "expires_in"}
    assert body["expires_in"] > 0
    user = body["user"]
    assert (user["user_id"], user["email"], user["is_admin"], user["is_active"]) == (
        account.user_id,
        account.email,
        False,
        True,
    )
    assert re.match(TIMESTAMP, user["created_at"])
    assert re.match(TIMESTAMP, user["last_login_at"])
    assert user["token_epoch"] == 0
    bearer = {"Authorization": f"Bearer {body['token']}"}
    name = upload(url, bearer).json()["image_name"]
    # The token acts in the account's workspace: what it uploaded, the account's key reads too.
    assert httpx.get(f"{url}/api/v1/images/i/{name}", headers=account.headers).status_code == 200
    assert httpx.get(f"{url}/api/v1/auth/status").json()["setup_required"] is False

    wrong = httpx.post(f"{url}/api/v1/auth/login", json={"email": account.email, "password": "not the password"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Incorrect email or password"})
    unknown = httpx.post(f"{url}/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    assert (unknown.status_code, unknown.json()) == (401, {"detail": "Incorrect email or password"})
    invalid = httpx.post(f"{url}/api/v1/auth/login", json={"email": account.email})
    assert invalid.status_code == 422
    assert [problem["loc"] for problem in invalid.json()["detail"]] == [["body", "password"]]
    assert httpx.post(
        f"{url}/api/v1/auth/login", content=b"{", headers={"content-type": "application/json"}
    ).status_code in (400, 422)


def test_form_login_on_the_same_path_stays_imaginelabs(live_server: LiveServer, account: SeededAccount) -> None:
    url = live_server.url
    form = httpx.post(f"{url}/api/v1/auth/login", data={"username": account.email, "password": account.password})
    assert form.status_code == 200, form.text
    assert set(form.json()) == {"access_token", "token_type"}
    assert form.json()["token_type"] == "bearer"
    wrong = httpx.post(f"{url}/api/v1/auth/login", data={"username": account.email, "password": "nope-nope"})
    assert wrong.status_code == 401
    missing = httpx.post(f"{url}/api/v1/auth/login", data={"username": account.email})
    assert missing.status_code == 400  # ImagineLab answers 400 where pixelmill says 422
    assert isinstance(missing.json()["detail"], str)


def test_without_single_user_mode_a_request_without_credentials_is_401(live_server: LiveServer) -> None:
    answer = upload(live_server.url)
    assert answer.status_code == 401
    assert isinstance(answer.json()["detail"], str)


@pytest.fixture
def single_user(settings: Settings) -> Iterator[tuple[LiveServer, SeededAccount]]:
    operator = seed_account(settings.resolved_database_url, plan="operator", operator=True)
    server = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    try:
        yield server, operator
    finally:
        server.stop()


def test_single_user_mode_needs_no_header_and_bearer_still_scopes_to_the_callers_workspace(
    single_user: tuple[LiveServer, SeededAccount], settings: Settings
) -> None:
    server, operator = single_user
    url = server.url
    assert httpx.get(f"{url}/api/v1/auth/status").json()["multiuser_enabled"] is False
    created = upload(url)  # no header: the operator's workspace
    assert created.status_code == 201, created.text
    name = created.json()["image_name"]
    assert httpx.get(f"{url}/api/v1/images/i/{name}/full").status_code == 200
    assert httpx.get(f"{url}/api/v1/images/i/{name}", headers=operator.headers).status_code == 200
    someone = seed_account(settings.resolved_database_url)
    assert httpx.get(f"{url}/api/v1/images/i/{name}", headers=someone.headers).status_code == 404
    bad = httpx.get(f"{url}/api/v1/images/i/{name}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
