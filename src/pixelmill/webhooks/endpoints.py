"""Webhook endpoints of a workspace and their deliveries: create, read, change, rotate, redeliver.

Managing endpoints needs the admin role (and the ``webhooks`` scope for API keys). The secret is
returned by create and rotate only. A target URL is checked when it is registered, by the one
outbound-URL check (:mod:`pixelmill.outbound_urls`: its form, and every address it resolves to
must be public unless the operator allows private ones), and again at each delivery, since DNS can
change in between. The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.outbound_urls import UrlPolicy, check_outbound_url
from pixelmill.services.paging import split_page
from pixelmill.services.principal import Principal
from pixelmill.webhooks.routing import DEFAULT_FILTER, check_filter
from pixelmill.webhooks.signing import generate_secret

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class DeliveryWithAttempts:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[DeliveryWithAttempts]
    next_cursor: str | None


class WebhookEndpointService:
    """The webhook operations of one request, over one session."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @staticmethod
    def _authorise(principal: Principal) -> None:
        principal.require_scope("webhooks")
        principal.require_role("admin")

    async def _check_url(self, url: str) -> str:
        await check_outbound_url(url, UrlPolicy.from_settings(self.settings), field="url")
        return url

    async def create(self, principal: Principal, *, url: str, events: Sequence[str] | None) -> WebhookEndpoint:
        self._authorise(principal)
        now = utcnow()
        endpoint = WebhookEndpoint(
            id=new_id("wh"),
            workspace_id=principal.workspace_id,
            url=await self._check_url(url),
            events=check_filter(DEFAULT_FILTER if events is None else events, "events"),
            enabled=True,
            secret=generate_secret(),
            created_at=now,
            updated_at=now,
        )
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def get(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        """The endpoint; one 404 whether it is unknown or another workspace's."""
        self._authorise(principal)
        endpoint = await self.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
        if endpoint is None or endpoint.workspace_id != principal.workspace_id:
            raise PixelmillError(errors.NOT_FOUND, f"Webhook {endpoint_id} not found", webhook_id=endpoint_id)
        return endpoint

    async def list(self, principal: Principal) -> list[WebhookEndpoint]:
        self._authorise(principal)
        rows = await self.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == principal.workspace_id)
            .order_by(WebhookEndpoint.id.desc())
        )
        return list(rows)

    async def update(
        self,
        principal: Principal,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> WebhookEndpoint:
        """Change what is given; enabling clears the reason it was disabled."""
        endpoint = await self.get(principal, endpoint_id)
        if url is not None:
            endpoint.url = await self._check_url(url)
        if events is not None:
            endpoint.events = check_filter(events, "events")
        if enabled is not None:
            endpoint.enabled = enabled
            endpoint.disabled_reason = None if enabled else "Disabled by the workspace"
        endpoint.updated_at = utcnow()
        await self.session.flush()
        return endpoint

    async def delete(self, principal: Principal, endpoint_id: str) -> None:
        """Remove the endpoint with its deliveries and their attempts."""
        endpoint = await self.get(principal, endpoint_id)
        await self.session.delete(endpoint)
        await self.session.flush()

    async def rotate_secret(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        """A new secret; the old one keeps signing beside it for ``webhook_secret_overlap_seconds``."""
        endpoint = await self.get(principal, endpoint_id)
        now = utcnow()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=self.settings.webhook_secret_overlap_seconds)
        endpoint.secret = generate_secret()
        endpoint.updated_at = now
        await self.session.flush()
        return endpoint

    async def deliveries(
        self, principal: Principal, endpoint_id: str, *, cursor: str | None = None, limit: int = 20
    ) -> DeliveryPage:
        """Newest first, each with every attempt in order; ``cursor`` is the last id of the previous page."""
        await self.get(principal, endpoint_id)
        limit = max(1, min(limit, MAX_PAGE))
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if cursor is not None:
            query = query.where(WebhookDelivery.id < cursor)
        rows = list(await self.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
        page, next_cursor = split_page(rows, limit)
        attempts: dict[str, list[WebhookAttempt]] = {row.id: [] for row in page}
        if page:
            for attempt in await self.session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(attempts))).order_by(WebhookAttempt.id)
            ):
                attempts[attempt.delivery_id].append(attempt)
        return DeliveryPage([DeliveryWithAttempts(row, attempts[row.id]) for row in page], next_cursor)

    async def redeliver(self, principal: Principal, delivery_id: str) -> WebhookDelivery:
        """Queue the same message again, now, as a new delivery with the same ``webhook-id``
        (to the endpoint's current URL); the original keeps its history."""
        self._authorise(principal)
        original = await self.session.get(WebhookDelivery, delivery_id)
        if original is None or original.workspace_id != principal.workspace_id:
            raise PixelmillError(errors.NOT_FOUND, f"Delivery {delivery_id} not found", delivery_id=delivery_id)
        url = original.url
        if original.endpoint_id is not None:
            endpoint = await self.get(principal, original.endpoint_id)
            if not endpoint.enabled:
                raise PixelmillError(
                    errors.CONFLICT, "The webhook is disabled; enable it before redelivering", webhook_id=endpoint.id
                )
            url = endpoint.url
        now = utcnow()
        copy = WebhookDelivery(
            id=new_id("whd"),
            workspace_id=original.workspace_id,
            endpoint_id=original.endpoint_id,
            run_id=original.run_id,
            event_id=original.event_id,
            event=original.event,
            url=url,
            payload=original.payload,
            webhook_id=original.webhook_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.session.add(copy)
        await self.session.flush()
        return copy
