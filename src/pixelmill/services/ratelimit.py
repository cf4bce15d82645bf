"""Request rate limits per principal and failed-login throttling, on the ``limits`` library.

Counters live in ``limits``' in-process memory storage for an embedded server and in Redis when
``Settings.redis_url`` is set, so every API process behind a load balancer shares them. Both use a
fixed window: the first hit opens a window of ``window_seconds`` and the counter resets when it ends,
which is what the ``RateLimit`` field's ``t`` (seconds until reset) describes exactly.

The response fields follow draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Policy: "minute";q=30;w=60``
names the policy, its quota and window; ``RateLimit: "minute";r=12;t=41`` says what remains and when
the window resets.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError

log = logging.getLogger("pixelmill.ratelimit")

REQUEST_WINDOW_SECONDS = 60
REQUEST_POLICY = "minute"
REDIS_POOL_SIZE = 64  # connections per process; every check is one short round trip


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """The outcome of one counted request: whether it is allowed and what the client should be told."""

    allowed: bool
    quota: int
    remaining: int
    reset_seconds: int
    window_seconds: int = REQUEST_WINDOW_SECONDS
    policy: str = REQUEST_POLICY

    def headers(self) -> dict[str, str]:
        """The IETF draft fields, plus ``Retry-After`` once the quota is spent."""
        fields = {
            "RateLimit-Policy": f'"{self.policy}";q={self.quota};w={self.window_seconds}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.reset_seconds)
        return fields


def _seconds_until(expiry: float) -> int:
    return max(1, math.ceil(expiry - time.time()))


def _fingerprint(*parts: str) -> str:
    # Counter keys may sit in a shared Redis; emails and addresses are hashed so they do not.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class RateLimiter:
    """Counts requests per principal and failed logins per email and client address."""

    def __init__(
        self,
        storage: Storage,
        *,
        key_prefix: str,
        login_failures: int,
        login_window_seconds: int,
    ) -> None:
        self.storage = storage
        self.key_prefix = key_prefix
        self.login_failures = login_failures
        self.login_window_seconds = login_window_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        storage: Storage
        if settings.redis_url:
            from redis.asyncio import BlockingConnectionPool

            # A burst of requests waits its turn for a connection instead of failing once the pool
            # is exhausted (the default pool raises, which a client would see as a 503).
            pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=REDIS_POOL_SIZE, timeout=5)
            storage = RedisStorage(
                settings.redis_url,
                implementation="redispy",
                key_prefix=settings.rate_limit_key_prefix,
                connection_pool=pool,  # type: ignore[arg-type]  # limits types options narrowly; redis-py takes a pool
            )
        else:
            storage = MemoryStorage()
        return cls(
            storage,
            key_prefix=settings.rate_limit_key_prefix,
            login_failures=settings.login_failures_per_window,
            login_window_seconds=settings.login_failure_window_seconds,
        )

    @property
    def backend(self) -> str:
        return "redis" if isinstance(self.storage, RedisStorage) else "memory"

    def _key(self, kind: str, identity: str) -> str:
        # Redis storage adds its own key prefix; the memory storage is per process, so one prefix
        # scheme serves both.
        return f"{self.key_prefix}:{kind}:{identity}"

    async def _count(self, key: str, expiry: int) -> tuple[int, float]:
        try:
            count = await self.storage.incr(key, expiry)
            reset_at = await self.storage.get_expiry(key)
        except Exception as exc:
            log.warning("rate limit storage failed", extra={"backend": self.backend, "error": type(exc).__name__})
            raise PixelmillError(errors.SERVICE_UNAVAILABLE, "The rate limit store is unreachable") from exc
        return count, reset_at

    async def hit(self, principal_id: str, requests_per_minute: int) -> RateLimitState:
        """Count one request by ``principal_id``; the state says whether it fits the plan's quota."""
        count, reset_at = await self._count(self._key("req", principal_id), REQUEST_WINDOW_SECONDS)
        return RateLimitState(
            allowed=count <= requests_per_minute,
            quota=requests_per_minute,
            remaining=max(0, requests_per_minute - count),
            reset_seconds=_seconds_until(reset_at),
        )

    def _login_key(self, email: str, client: str) -> str:
        return self._key("login", _fingerprint(email.strip().lower(), client))

    async def check_login(self, email: str, client: str) -> None:
        """Refuse a login attempt with 429 LOGIN_THROTTLED once too many have failed in the window."""
        key = self._login_key(email, client)
        try:
            failures = await self.storage.get(key)
            reset_at = await self.storage.get_expiry(key) if failures else 0.0
        except Exception as exc:
            raise PixelmillError(errors.SERVICE_UNAVAILABLE, "The rate limit store is unreachable") from exc
        if failures >= self.login_failures:
            retry_after = _seconds_until(reset_at)
            raise PixelmillError(
                errors.LOGIN_THROTTLED,
                f"Too many failed logins; try again in {retry_after} seconds",
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            )

    async def record_login_failure(self, email: str, client: str) -> None:
        await self._count(self._login_key(email, client), self.login_window_seconds)

    async def clear_login_failures(self, email: str, client: str) -> None:
        """A successful login forgets earlier failures, so a typo now and then never locks anyone out."""
        try:
            await self.storage.clear(self._login_key(email, client))
        except Exception as exc:
            raise PixelmillError(errors.SERVICE_UNAVAILABLE, "The rate limit store is unreachable") from exc

    async def check(self) -> bool:
        """Whether the storage answers (always true in memory); used by /readyz."""
        try:
            return bool(await self.storage.check())
        except Exception:
            return False

    async def close(self) -> None:
        """Release the Redis connection pool; the memory storage has nothing to release."""
        if isinstance(self.storage, RedisStorage):
            client: Any = getattr(self.storage.bridge, "storage", None)
            if client is not None and hasattr(client, "aclose"):
                await client.aclose()
                await client.connection_pool.disconnect()  # the pool is ours, so the client leaves it open
