"""Webhook tests: short retry delays and timeouts, a seeded workspace, outbox rows written through the subscriber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.events.types import EventName, EventRecord
from pixelmill.services.principal import Principal
from pixelmill.webhooks.outbox import WebhookOutbox
from tests.support.accounts import seed_account_async

FAST_SCHEDULE = [0.05] * 9


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with retries, timeouts and polling short enough for tests."""
    return settings.model_copy(
        update={
            "webhook_retry_schedule_seconds": FAST_SCHEDULE,
            "webhook_timeout_seconds": 0.5,
            "webhook_poll_seconds": 0.05,
            "webhook_secret_overlap_seconds": 3600.0,
        }
    )


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings


async def admin_principal(db: Database) -> Principal:
    seeded = await seed_account_async(db)
    return Principal(workspace_id=seeded.workspace_id, plan="pro", user_id=seeded.user_id, role="owner")


def record(workspace_id: str, name: EventName = "run_complete", event_id: int = 1, **data: Any) -> EventRecord:
    run_id = data.pop("run_id", "run_webhooktest")
    return EventRecord(
        id=event_id,
        workspace_id=workspace_id,
        run_id=run_id,
        name=name,
        data={"event": name, "run_id": run_id, **data},
        created_at=datetime.now(UTC),
    )


async def enqueue(db: Database, settings: Settings, *records: EventRecord) -> None:
    async with db.session() as session:
        await WebhookOutbox(settings)(session, records)
