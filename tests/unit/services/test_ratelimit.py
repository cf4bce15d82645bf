from __future__ import annotations

import pytest
from limits.aio.storage import MemoryStorage

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.services.ratelimit import RateLimiter, RateLimitState


def _limiter(login_failures: int = 3) -> RateLimiter:
    return RateLimiter(MemoryStorage(), key_prefix="unit", login_failures=login_failures, login_window_seconds=900)


@pytest.mark.anyio
async def test_requests_within_the_quota_are_allowed_and_counted_down() -> None:
    limiter = _limiter()
    states = [await limiter.hit("key_1", 3) for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0]
    assert all(0 < s.reset_seconds <= 60 for s in states)


@pytest.mark.anyio
async def test_principals_are_counted_separately() -> None:
    limiter = _limiter()
    assert (await limiter.hit("key_1", 1)).allowed
    assert (await limiter.hit("key_2", 1)).allowed
    assert not (await limiter.hit("key_1", 1)).allowed


def test_headers_follow_the_ietf_draft() -> None:
    state = RateLimitState(allowed=True, quota=30, remaining=12, reset_seconds=41)
    assert state.headers() == {"RateLimit-Policy": '"minute";q=30;w=60', "RateLimit": '"minute";r=12;t=41'}
    spent = RateLimitState(allowed=False, quota=30, remaining=0, reset_seconds=7)
    assert spent.headers()["Retry-After"] == "7"


@pytest.mark.anyio
async def test_failed_logins_throttle_one_email_from_one_address() -> None:
    limiter = _limiter(login_failures=2)
    for _ in range(2):
        await limiter.check_login("a@example.com", "10.0.0.1")
        await limiter.record_login_failure("A@example.com ", "10.0.0.1")
    with pytest.raises(PixelmillError) as caught:
        await limiter.check_login("a@example.com", "10.0.0.1")
    assert caught.value.spec is errors.LOGIN_THROTTLED
    assert 0 < int(caught.value.headers["Retry-After"]) <= 900
    await limiter.check_login("a@example.com", "10.0.0.2")
    await limiter.check_login("b@example.com", "10.0.0.1")


@pytest.mark.anyio
async def test_a_successful_login_clears_earlier_failures() -> None:
    limiter = _limiter(login_failures=2)
    await limiter.record_login_failure("a@example.com", "10.0.0.1")
    await limiter.clear_login_failures("a@example.com", "10.0.0.1")
    await limiter.record_login_failure("a@example.com", "10.0.0.1")
    await limiter.check_login("a@example.com", "10.0.0.1")
