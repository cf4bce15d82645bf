"""Webhook endpoints of the caller's workspace, their deliveries with every attempt, and redelivery.

The ``whsec_`` secret is in the create and rotate-secret responses only. Deliveries are signed
with ``X-Pixelmill-Signature`` and the Standard Webhooks headers; receivers check them with
``pixelmill.webhooks.verify``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pixelmill.webhooks.endpoints import DeliveryWithAttempts, WebhookEndpointService
from pixelmill.wire import RequestModel

# Every webhook route needs the admin role (and the webhooks scope of an API key).
router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE),
)

EVENTS_DESCRIPTION = "Event names (run_complete, node_start, …) or groups: start, node, completed"


class WebhookCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, description=f"{EVENTS_DESCRIPTION}; default completed")


class WebhookUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, description=EVENTS_DESCRIPTION)
    enabled: bool | None = None


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    secret_rotating_until: datetime | None = Field(description="Until when the previous secret also signs")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> WebhookPublic:
        return cls(
            id=row.id,
            url=row.url,
            events=list(row.events),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            secret_rotating_until=row.previous_secret_expires_at if row.previous_secret else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="The signing secret, shown this once")


class WebhookList(BaseModel):
    data: list[WebhookPublic]


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, row: WebhookAttempt) -> AttemptPublic:
        return cls(
            attempted_at=row.attempted_at, status_code=row.status_code, latency_ms=row.latency_ms, error=row.error
        )


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every retry and redelivery")
    endpoint_id: str | None
    run_id: str
    event: str
    url: str
    status: str = Field(description="pending, sending, succeeded, failed (not retried) or dead (retries spent)")
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[AttemptPublic]

    @classmethod
    def of(cls, row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryPublic:
        return cls(
            id=row.id,
            webhook_id=row.webhook_id,
            endpoint_id=row.endpoint_id,
            run_id=row.run_id,
            event=row.event,
            url=row.url,
            status=row.status,
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            last_error=row.last_error,
            created_at=row.created_at,
            completed_at=row.completed_at,
            attempts=[AttemptPublic.of(attempt) for attempt in attempts],
        )


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    next_cursor: str | None


def _with_secret(row: WebhookEndpoint) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookPublic.of(row).model_dump(), secret=row.secret)


@router.post("", operation_id="create_webhook", status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, principal: PrincipalDep, runtime: RuntimeDep) -> WebhookWithSecret:
    """Register an endpoint; the response holds its signing secret, shown this once."""
    async with runtime.db.session() as session:
        row = await WebhookEndpointService(session, runtime.settings).create(
            principal, url=body.url, events=body.events
        )
    return _with_secret(row)


@router.get("", operation_id="list_webhooks")
async def list_webhooks(principal: PrincipalDep, runtime: RuntimeDep) -> WebhookList:
    async with runtime.db.session() as session:
        rows = await WebhookEndpointService(session, runtime.settings).list(principal)
    return WebhookList(data=[WebhookPublic.of(row) for row in rows])


@router.get("/{webhook_id}", operation_id="get_webhook")
async def get_webhook(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> WebhookPublic:
    async with runtime.db.session() as session:
        row = await WebhookEndpointService(session, runtime.settings).get(principal, webhook_id)
    return WebhookPublic.of(row)


@router.patch("/{webhook_id}", operation_id="update_webhook")
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> WebhookPublic:
    """Change the URL, the event filter or whether it is enabled (enabling clears a 410's disable)."""
    async with runtime.db.session() as session:
        row = await WebhookEndpointService(session, runtime.settings).update(
            principal, webhook_id, url=body.url, events=body.events, enabled=body.enabled
        )
    return WebhookPublic.of(row)


@router.delete("/{webhook_id}", operation_id="delete_webhook", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.session() as session:
        await WebhookEndpointService(session, runtime.settings).delete(principal, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/rotate-secret", operation_id="rotate_webhook_secret")
async def rotate_webhook_secret(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> WebhookWithSecret:
    """A new secret, shown this once; the previous one keeps signing for the overlap period."""
    async with runtime.db.session() as session:
        row = await WebhookEndpointService(session, runtime.settings).rotate_secret(principal, webhook_id)
    return _with_secret(row)


@router.get("/{webhook_id}/deliveries", operation_id="list_webhook_deliveries")
async def list_webhook_deliveries(
    webhook_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryList:
    """Deliveries newest first, each with every attempt: status code, latency and error."""
    async with runtime.db.session() as session:
        page = await WebhookEndpointService(session, runtime.settings).deliveries(
            principal, webhook_id, cursor=cursor, limit=limit
        )
    return DeliveryList(data=[_delivery(item) for item in page.deliveries], next_cursor=page.next_cursor)


def _delivery(item: DeliveryWithAttempts) -> DeliveryPublic:
    return DeliveryPublic.of(item.delivery, item.attempts)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    operation_id="redeliver_webhook",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE, errors.CONFLICT),
)
async def redeliver_webhook(delivery_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> DeliveryPublic:
    """Send a delivery's message again now (same webhook-id), as a new delivery."""
    async with runtime.db.session() as session:
        row = await WebhookEndpointService(session, runtime.settings).redeliver(principal, delivery_id)
    if runtime.webhook_deliverer is not None:
        runtime.webhook_deliverer.wake()
    return DeliveryPublic.of(row, [])
