"""The delivery loop: claims due outbox rows, POSTs them signed, records every attempt, retries.

Claims are compare-and-set (``pending`` and due, or ``sending`` with an expired lease ->
``sending`` leased to this process), so two processes never send one delivery at once, and a
process that dies mid-send loses nothing: its lease expires and another claims the row. Each POST
goes through the outbound URL guard (resolved, private targets refused unless allowed), follows no
redirects and is cut off after ``webhook_timeout_seconds``. Failures retry on the configured
schedule with jitter, later when the receiver's ``Retry-After`` asks; 410 Gone disables the endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import func, or_, select, update

from pixelmill import __version__, errors
from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.net import FetchResult, send
from pixelmill.outbound_urls import UrlPolicy
from pixelmill.webhooks.metrics import DELIVERY_ATTEMPTS, OUTBOX_DEPTH, OUTBOX_OLDEST_AGE
from pixelmill.webhooks.signing import signature_headers

log = logging.getLogger("pixelmill.webhooks")

ACTIVE = ("pending", "sending")
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_ERROR_CHARS = 1000
MAX_RETRY_AFTER_SECONDS = 86400.0


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    """What one attempt sends, read from the database before the (slow) POST."""

    id: str
    url: str
    body: bytes
    webhook_id: str
    secrets: tuple[str, ...]
    endpoint_id: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    outcome: str  # success | http_error | gone | network_error | refused
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.outcome in ("http_error", "network_error")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a Retry-After header (delta seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), MAX_RETRY_AFTER_SECONDS))


def next_delay(schedule: list[float], attempts: int, retry_after: float | None) -> float | None:
    """Seconds before the next try after ``attempts`` tries, jittered by ±10 %; None once the schedule is spent."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * random.uniform(0.9, 1.1)
    return max(delay, retry_after) if retry_after is not None else delay


class WebhookDeliverer:
    """One process's delivery loop over the shared outbox."""

    def __init__(self, db: Database, settings: Settings, *, owner: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{new_id('wl')}"
        self.policy = UrlPolicy.from_settings(settings)
        # A claim outlives any attempt (bounded by the timeout) with room for the database writes around it.
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds * 2 + 10)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="webhook-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.run_once()
                await self.refresh_gauges()
            except Exception:
                log.exception("webhook delivery pass failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim what is due and send it; the number of attempts made. Deliveries to one URL go one
        after the other in event order (best effort: a retry does not hold back later events)."""
        claimed = await self.claim(now=now)
        if not claimed:
            return 0
        by_url: dict[str, list[str]] = {}
        for delivery_id, url in claimed:
            by_url.setdefault(url, []).append(delivery_id)
        limit = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def in_order(delivery_ids: list[str]) -> None:
            async with limit:
                for delivery_id in delivery_ids:
                    await self.deliver(delivery_id)

        await asyncio.gather(*(in_order(ids) for ids in by_url.values()))
        return len(claimed)

    async def claim(self, *, now: datetime | None = None, limit: int | None = None) -> list[tuple[str, str]]:
        """Lease due deliveries to this process, each by compare-and-set; (id, url) of those won, oldest first."""
        now = now or utcnow()
        limit = limit or self.settings.webhook_concurrency * 4
        due = or_(
            (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now),
            (WebhookDelivery.status == "sending") & (WebhookDelivery.lease_expires_at < now),
        )
        won: list[tuple[str, str]] = []
        async with self.db.session() as session:
            candidates = (
                await session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.url)
                    .where(due)
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_id, WebhookDelivery.id)
                    .limit(limit)
                )
            ).all()
            for delivery_id, url in candidates:
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, due)
                    .values(status="sending", lease_owner=self.owner, lease_expires_at=now + self.lease)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    won.append((delivery_id, url))
        return won

    async def deliver(self, delivery_id: str) -> None:
        """One attempt of a delivery this process claimed, recorded whatever happens."""
        prepared = await self._prepare(delivery_id)
        if prepared is None:
            return
        started = time.perf_counter()
        result = await self._post(prepared)
        latency_ms = int((time.perf_counter() - started) * 1000)
        DELIVERY_ATTEMPTS.labels(outcome=result.outcome).inc()
        await self._record(prepared, result, latency_ms)

    async def _prepare(self, delivery_id: str) -> PreparedDelivery | None:
        now = utcnow()
        async with self.db.session() as session:
            delivery = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
            if delivery is None or delivery.status != "sending" or delivery.lease_owner != self.owner:
                return None
            secrets: list[str] = []
            if delivery.endpoint_id is not None:
                endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
                if endpoint is None or not endpoint.enabled:
                    reason = endpoint.disabled_reason if endpoint is not None else None
                    delivery.status, delivery.completed_at = "failed", now
                    delivery.lease_owner, delivery.lease_expires_at = None, None
                    delivery.last_error = f"The endpoint is disabled ({reason or 'by its owner'})"
                    return None
                secrets.append(endpoint.secret)
                expires = endpoint.previous_secret_expires_at
                if endpoint.previous_secret and expires is not None and expires > now:
                    secrets.append(endpoint.previous_secret)
            else:
                run = await session.get(Run, delivery.run_id)
                secret = (run.webhook or {}).get("secret") if run is not None else None
                if isinstance(secret, str) and secret:
                    secrets.append(secret)
            body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
            return PreparedDelivery(
                id=delivery.id,
                url=delivery.url,
                body=body,
                webhook_id=delivery.webhook_id,
                secrets=tuple(secrets),
                endpoint_id=delivery.endpoint_id,
                attempts=delivery.attempts,
            )

    async def _post(self, prepared: PreparedDelivery) -> AttemptResult:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"pixelmill-webhooks/{__version__}",
            **signature_headers(
                prepared.secrets,
                prepared.webhook_id,
                int(time.time()),
                prepared.body,
                self.settings.webhook_signature_headers,
            ),
        }
        try:
            response: FetchResult = await send(
                "POST",
                prepared.url,
                policy=self.policy,
                max_bytes=MAX_RESPONSE_BYTES,
                timeout_seconds=self.settings.webhook_timeout_seconds,
                content=prepared.body,
                headers=headers,
                max_redirects=0,
            )
        except PixelmillError as exc:
            outcome = "refused" if exc.spec is errors.URL_NOT_ALLOWED else "network_error"
            return AttemptResult(None, exc.message[:MAX_ERROR_CHARS], outcome)
        code = response.status_code
        if 200 <= code < 300:
            return AttemptResult(code, None, "success")
        if code == 410:
            return AttemptResult(code, "The receiver answered 410 Gone", "gone")
        retry_after = retry_after_seconds(response.headers.get("retry-after"), utcnow())
        snippet = response.content[:200].decode("utf-8", "replace")
        return AttemptResult(code, f"HTTP {code}: {snippet}"[:MAX_ERROR_CHARS], "http_error", retry_after)

    async def _record(self, prepared: PreparedDelivery, result: AttemptResult, latency_ms: int) -> None:
        now = utcnow()
        attempts = prepared.attempts + 1
        async with self.db.session() as session:
            session.add(
                WebhookAttempt(
                    delivery_id=prepared.id,
                    attempted_at=now,
                    status_code=result.status_code,
                    latency_ms=latency_ms,
                    error=result.error,
                )
            )
            values: dict[str, object] = {
                "attempts": attempts,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_error": result.error,
            }
            if result.outcome == "success":
                values.update(status="succeeded", completed_at=now)
            elif result.retryable:
                delay = next_delay(self.settings.webhook_retry_schedule_seconds, attempts, result.retry_after)
                if delay is None:
                    values.update(status="dead", completed_at=now)
                else:
                    values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
            else:
                values.update(status="failed", completed_at=now)
            # Only the holder of the claim records it; a takeover after an expired lease wins instead.
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == prepared.id,
                    WebhookDelivery.status == "sending",
                    WebhookDelivery.lease_owner == self.owner,
                )
                .values(**values)
            )
            if result.outcome == "gone" and prepared.endpoint_id is not None:
                await session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.id == prepared.endpoint_id)
                    .values(enabled=False, disabled_reason="The receiver answered 410 Gone", updated_at=now)
                )

    async def refresh_gauges(self) -> None:
        """Outbox depth and the age of its oldest row, for the metrics endpoint."""
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(func.count(), func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status.in_(ACTIVE))
                )
            ).one()
        depth: int = int(row[0] or 0)
        oldest: datetime | None = row[1]
        OUTBOX_DEPTH.set(depth)
        if oldest is None:
            OUTBOX_OLDEST_AGE.set(0)
        else:
            OUTBOX_OLDEST_AGE.set(max(0.0, (utcnow() - oldest).total_seconds()))
