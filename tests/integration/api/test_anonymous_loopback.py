"""Single-user mode (``anonymous_loopback``): a request without credentials acts as the operator's
workspace, over real HTTP on loopback; without the setting the same request is 401, and a wrong
credential is never silently replaced by the operator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from pixelmill.config import Settings, is_loopback_host
from tests.support.accounts import SeededAccount, seed_account
from tests.support.server import LiveServer, start_server


@pytest.fixture
def operator(settings: Settings) -> SeededAccount:
    return seed_account(settings.resolved_database_url, plan="operator", operator=True)


@pytest.fixture
def single_user_server(settings: Settings) -> Iterator[LiveServer]:
    server = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    yield server
    server.stop()


def test_no_credentials_act_as_the_operator_workspace(
    single_user_server: LiveServer, operator: SeededAccount, settings: Settings
) -> None:
    other = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=single_user_server.url, timeout=30) as anonymous:
        me = anonymous.get("/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["workspace"]["id"] == operator.workspace_id
        # A credential given is a credential checked: a bad one is 401, another user's acts as them.
        assert anonymous.get("/v1/auth/me", headers={"Authorization": "Bearer pm_live_nope"}).status_code == 401
        theirs = anonymous.get("/v1/auth/me", headers=other.headers)
        assert theirs.json()["workspace"]["id"] == other.workspace_id


def test_without_the_setting_no_credentials_is_401(api: httpx.Client, operator: SeededAccount) -> None:
    response = api.get("/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_before_an_operator_exists_anonymous_requests_are_401(single_user_server: LiveServer) -> None:
    with httpx.Client(base_url=single_user_server.url, timeout=30) as anonymous:
        assert anonymous.get("/v1/auth/me").status_code == 401


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_the_setting_refuses_a_host_that_is_not_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        Settings(anonymous_loopback=True, host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)
    Settings(anonymous_loopback=True, host=host)
