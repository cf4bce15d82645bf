"""One pooled HTTP client per upstream, its concurrency limit, and retries on rate limits.

The httpx client is made on first use through :func:`pixelmill.net.upstream_client` (the base URL
is an operator setting, so it is trusted and may be loopback) and reused by every call, so calls
share connections. An asyncio client belongs to one event loop: a process that runs nodes on more
than one loop (a Celery worker's ``asyncio.run`` per task) gets one client per loop.

At most ``concurrency`` calls are in flight per upstream per loop; a burst waits its turn here
instead of drawing 429s. A 429 or 5xx answer is retried after ``retry-after-ms`` / ``Retry-After``
(else the wait the error body names, such as Google's RetryInfo, else an exponential back-off) while
the waits fit in the retry budget; the slot is released while waiting. Anything else that fails
goes through the adapter's error reader and :func:`to_error`.

A call may name a rate class (``"image"``, ``"video"``): the config's per-second rate for that class
paces its sends (:mod:`~pixelmill.providers.upstream.pacing`) before it takes a concurrency slot, so a
call waiting for its second holds no slot; retries are paced too. Calls without a class (a poll, a
download) are not paced. A call to an absolute URL on another origin (a result the upstream hosts
elsewhere) is sent without the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.net import upstream_client
from pixelmill.providers.key_vault import mask_key
from pixelmill.providers.upstream.failures import UpstreamFailure, to_error
from pixelmill.providers.upstream.pacing import pacer_for
from pixelmill.providers.upstream.retry_after import retry_after_seconds

log = logging.getLogger(__name__)

ErrorReader = Callable[[httpx.Response, bytes], UpstreamFailure]
Sleep = Callable[[float], Awaitable[None]]
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_START = 0.5  # seconds before the first retry when the upstream names no wait


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """Where an upstream lives and how hard to press it; ``headers`` carry the key."""

    provider: str
    base_url: str
    headers: Mapping[str, str]
    secret: str | None  # cut out of every message kept from the upstream
    timeout_seconds: float = 180.0
    connect_timeout_seconds: float = 10.0
    concurrency: int = 8
    retry_budget_seconds: float = 60.0
    max_retries: int = 4
    # Largest body read from one answer (a video download included): a runaway or hostile upstream
    # must not fill the worker's memory.
    max_response_bytes: int = 512 * 1024 * 1024
    # How the key is sent: header name and value template ("Bearer {key}", "Key {key}", "{key}").
    auth_header: str = "Authorization"
    auth_template: str = "Bearer {key}"
    # Requests per second by rate class (a Call's ``rate_class``); a class not named is not paced.
    rates: Mapping[str, float] = field(default_factory=dict)

    def key_hint(self) -> str | None:
        """The key, masked as key lists show it (never more than its last four characters)."""
        return mask_key(self.secret) if self.secret else None

    def with_key(self, key: str) -> UpstreamConfig:
        """This upstream, calling with ``key`` (a workspace's own) instead of the operator's."""
        headers = {name: value for name, value in self.headers.items() if name.lower() != self.auth_header.lower()}
        headers[self.auth_header] = self.auth_template.format(key=key)
        return dataclasses.replace(self, headers=headers, secret=key)

    @staticmethod
    def rates_from(provider: str, defaults: Mapping[str, float], settings: Settings) -> dict[str, float]:
        """The adapter's default rates with the operator's ``upstream_rate_limits`` entries for
        ``provider`` (``"xai:video"``) over them; a rate of 0 lifts that class's limit."""
        rates = dict(defaults)
        for name, rate in settings.upstream_rate_limits.items():
            upstream, _, rate_class = name.partition(":")
            if upstream == provider:
                rates[rate_class] = rate
        return {rate_class: rate for rate_class, rate in rates.items() if rate > 0}

    @classmethod
    def bearer(
        cls,
        provider: str,
        base_url: str,
        key: SecretStr | None,
        settings: Settings,
        *,
        rates: Mapping[str, float] | None = None,
    ) -> UpstreamConfig:
        """An upstream that takes ``Authorization: Bearer <key>``, pressed as the operator's upstream
        settings say; every bearer-key adapter builds its config here rather than spelling it again.
        ``rates`` are the upstream's documented per-second limits, which the operator may change."""
        secret = key.get_secret_value() if key is not None else None
        return cls(
            provider=provider,
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {secret}"} if secret else {},
            secret=secret,
            timeout_seconds=settings.upstream_timeout_seconds,
            connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
            concurrency=settings.upstream_concurrency,
            retry_budget_seconds=settings.upstream_retry_budget_seconds,
            max_retries=settings.upstream_max_retries,
            max_response_bytes=settings.upstream_max_response_bytes,
            rates=cls.rates_from(provider, rates or {}, settings),
        )


@dataclass
class _LoopState:
    client: httpx.AsyncClient
    slots: asyncio.Semaphore


@dataclass
class Call:
    """One request as the adapter describes it; rebuilt on each attempt (multipart bodies included)."""

    method: str
    path: str
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    rate_class: str | None = None  # paced by the config's rate for this class, if it has one


class UpstreamClient:
    """Calls to one upstream; see the module docstring."""

    def __init__(self, config: UpstreamConfig, read_error: ErrorReader, *, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self._read_error = read_error
        self._sleep = sleep
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None or state.client.is_closed:
            client = upstream_client(
                self.config.base_url,
                timeout_seconds=self.config.timeout_seconds,
                max_connections=self.config.concurrency,
            )
            client.timeout = httpx.Timeout(self.config.timeout_seconds, connect=self.config.connect_timeout_seconds)
            client.headers.update(self.config.headers)
            state = _LoopState(client, asyncio.Semaphore(self.config.concurrency))
            self._states[loop] = state
        return state

    async def request(self, call: Call) -> httpx.Response:
        """Send ``call`` and return its successful response with the body read."""
        async with self.stream(call) as response:
            body = await self._read_bounded(response)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=response.request,
            extensions=response.extensions,
        )

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        """Read the body, refusing one past ``max_response_bytes`` (announced or as it arrives)."""
        limit = self.config.max_response_bytes
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            raise self._too_large(limit)
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                raise self._too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, limit: int) -> PixelmillError:
        return PixelmillError(
            errors.UPSTREAM_UNAVAILABLE,
            f"{self.config.provider} answered more than {limit} bytes (upstream_max_response_bytes)",
            provider=self.config.provider,
        )

    @contextlib.asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[httpx.Response]:
        """Send ``call``; yield its successful response unread (an SSE stream), holding a slot until
        the caller is done with it."""
        state = self._state()
        waited = 0.0
        attempt = 0
        while True:
            await self._pace(call)
            await state.slots.acquire()
            held = True
            try:
                response = await self._send(state.client, call)
                if response.status_code < 400:
                    try:
                        yield response
                    finally:
                        await response.aclose()
                    return
                body = await response.aread()
                await response.aclose()
                failure = self._read_error(response, body)
                delay = self._retry_delay(response, failure, attempt, waited)
                if delay is None:
                    raise to_error(self.config.provider, failure, secret=self.config.secret)
                log.info("%s answered HTTP %s; retrying in %.2f s", self.config.provider, response.status_code, delay)
                state.slots.release()
                held = False
                await self._sleep(delay)
                waited += delay
                attempt += 1
            finally:
                if held:
                    state.slots.release()

    async def _pace(self, call: Call) -> None:
        """Wait for the call's turn under its rate class, when the config gives that class a rate."""
        if call.rate_class is None or call.rate_class not in self.config.rates:
            return
        rate = self.config.rates[call.rate_class]
        await pacer_for(self.config.provider, self.config.secret, call.rate_class, rate).wait(self._sleep)

    def _retry_delay(
        self, response: httpx.Response, failure: UpstreamFailure, attempt: int, waited: float
    ) -> float | None:
        if response.status_code not in RETRY_STATUSES or attempt >= self.config.max_retries:
            return None
        delay = retry_after_seconds(response.headers)
        if delay is None:
            delay = failure.retry_after
        if delay is None:
            delay = BACKOFF_START * 2**attempt
        if waited + delay > self.config.retry_budget_seconds:
            return None
        return delay

    async def _send(self, client: httpx.AsyncClient, call: Call) -> httpx.Response:
        request = client.build_request(
            call.method, call.path, json=call.json, data=call.data, files=call.files, headers=call.headers
        )
        # An absolute URL the upstream handed us (an output on its CDN): the key stays with the upstream.
        if _origin(request.url) != _origin(client.base_url):
            request.headers.pop(self.config.auth_header, None)
        try:
            return await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise PixelmillError(
                errors.UPSTREAM_TIMEOUT,
                f"{self.config.provider} did not answer in time ({type(exc).__name__})",
                provider=self.config.provider,
            ) from None
        except httpx.HTTPError as exc:
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE,
                f"{self.config.provider} could not be reached ({type(exc).__name__})",
                provider=self.config.provider,
            ) from None

    async def aclose(self) -> None:
        """Close this loop's client (the shutdown of the process that owns it)."""
        with contextlib.suppress(RuntimeError):
            state = self._states.pop(asyncio.get_running_loop(), None)
            if state is not None:
                await state.client.aclose()


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class UpstreamAdapter:
    """What every adapter over one :class:`UpstreamClient` shares: the config, the client, and the
    key-facing part of the UpstreamProvider protocol (configured when it has a key, the key masked,
    closing the pooled client). Adapters keep their own calls, models and ``with_key``."""

    def __init__(self, config: UpstreamConfig, read_error: ErrorReader) -> None:
        self._config = config
        self.client = UpstreamClient(config, read_error)

    def is_configured(self) -> bool:
        return bool(self._config.secret)

    def key_hint(self) -> str | None:
        return self._config.key_hint()

    async def aclose(self) -> None:
        await self.client.aclose()
