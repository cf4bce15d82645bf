"""Per-principal rate limits over real HTTP: in memory, and in Redis shared by two servers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.server import LiveServer, start_server
from tests.support.services import REDIS_URL, require_service

_RATELIMIT = re.compile(r'^"minute";r=(\d+);t=(\d+)$')


def _remaining(response: httpx.Response) -> int:
    match = _RATELIMIT.match(response.headers["RateLimit"])
    assert match is not None, response.headers["RateLimit"]
    assert 0 < int(match.group(2)) <= 60
    return int(match.group(1))


def test_every_authenticated_response_carries_the_draft_fields(api: httpx.Client, account: SeededAccount) -> None:
    first = api.get("/v1/auth/me", headers=account.headers)
    assert first.headers["RateLimit-Policy"] == '"minute";q=30;w=60'
    second = api.delete("/v1/keys/key_missing", headers=account.headers)  # an error response is counted too
    assert second.status_code == 404
    assert second.headers["RateLimit-Policy"] == '"minute";q=30;w=60'
    assert _remaining(second) == _remaining(first) - 1
    assert "RateLimit" not in api.get("/healthz").headers


def test_the_plan_quota_ends_in_429_with_retry_after(api: httpx.Client, account: SeededAccount) -> None:
    answers = [api.get("/v1/auth/me", headers=account.headers) for _ in range(31)]
    assert [r.status_code for r in answers[:30]] == [200] * 30
    assert [_remaining(r) for r in answers[:30]] == list(range(29, -1, -1))
    limited = answers[30]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["RateLimit-Policy"] == '"minute";q=30;w=60'
    assert _remaining(limited) == 0
    assert limited.headers.get_list("RateLimit") == [limited.headers["RateLimit"]]


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"pmtest-{uuid.uuid4().hex[:12]}"
    yield settings.model_copy(update={"redis_url": REDIS_URL, "rate_limit_key_prefix": prefix})
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.redis
def test_two_servers_share_one_quota_through_redis(redis_settings: Settings) -> None:
    account = seed_account(redis_settings.resolved_database_url)
    servers: list[LiveServer] = [start_server(redis_settings), start_server(redis_settings)]
    try:
        statuses = []
        for n in range(31):
            response = httpx.get(f"{servers[n % 2].url}/v1/auth/me", headers=account.headers)
            statuses.append(response.status_code)
        ready = httpx.get(f"{servers[0].url}/readyz").json()
    finally:
        for server in servers:
            server.stop()
    assert statuses == [200] * 30 + [429]
    assert ready["checks"]["redis"] == "ok"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(f"{redis_settings.rate_limit_key_prefix}*"))
    finally:
        client.close()


def test_failed_rate_limit_storage_is_503_not_a_free_pass(settings: Settings) -> None:
    account_settings = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    account = seed_account(account_settings.resolved_database_url)
    server = start_server(account_settings)
    try:
        response = httpx.get(f"{server.url}/v1/auth/me", headers=account.headers, timeout=30)
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_console_session_counts_apart_with_at_least_the_console_rate(
    api: httpx.Client, account: SeededAccount
) -> None:
    signed_in = api.post("/v1/auth/session", json={"email": account.email, "password": account.password})
    assert signed_in.status_code == 200, signed_in.text
    # The console's own requests (cookie session) go past the pro plan's 30 a minute …
    answers = [api.get("/v1/auth/me") for _ in range(40)]
    assert {r.status_code for r in answers} == {200}
    assert answers[-1].headers["RateLimit-Policy"] == '"minute";q=600;w=60'
    assert _remaining(answers[-1]) == 560
    # … without spending the API's budget, which keeps the plan's rate.
    api.cookies.clear()
    direct = api.get("/v1/auth/me", headers=account.headers)
    assert direct.headers["RateLimit-Policy"] == '"minute";q=30;w=60'
    assert _remaining(direct) == 29


def test_the_console_rate_is_a_floor_not_a_cap(account: SeededAccount, settings: Settings) -> None:
    server = start_server(settings.model_copy(update={"console_requests_per_minute": 5}))
    try:
        with httpx.Client(base_url=server.url) as browser:
            signed_in = browser.post("/v1/auth/session", json={"email": account.email, "password": account.password})
            assert signed_in.status_code == 200, signed_in.text
            assert browser.get("/v1/auth/me").headers["RateLimit-Policy"] == '"minute";q=30;w=60'  # the plan's
    finally:
        server.stop()
