"""The delivery loop against real HTTP receivers on loopback: retries, timeouts, restarts, refusals, 410."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from pixelmill import webhooks
from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError
from pixelmill.webhooks.delivery import WebhookDeliverer
from pixelmill.webhooks.endpoints import WebhookEndpointService
from tests.integration.webhooks.conftest import admin_principal, enqueue, record
from tests.integration.webhooks.receiver import Answer, receiver

pytestmark = pytest.mark.anyio


async def make_endpoint(db: Database, settings: Settings, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    principal = await admin_principal(db)
    async with db.session() as session:
        return await WebhookEndpointService(session, settings).create(principal, url=url, events=events)


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.session() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def attempts(db: Database, delivery_id: str) -> list[WebhookAttempt]:
    async with db.session() as session:
        rows = await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)
        )
        return list(rows)


async def drain(deliverer: WebhookDeliverer, db: Database, until: set[str], limit_s: float = 10) -> WebhookDelivery:
    deadline = time.monotonic() + limit_s
    while True:
        await deliverer.run_once()
        rows = await deliveries(db)
        if rows and all(row.status in until for row in rows):
            return rows[0]
        assert time.monotonic() < deadline, [(row.status, row.attempts, row.last_error) for row in rows]
        await asyncio.sleep(0.02)


async def test_receiver_failing_three_times_then_succeeding_gets_it_signed_under_both_schemes(
    fast_settings: Settings,
) -> None:
    db = Database(fast_settings.resolved_database_url)
    try:
        with receiver(Answer(500), Answer(502), Answer(503), Answer(200)) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)
            await enqueue(db, fast_settings, record(endpoint.workspace_id, status="completed"))
            delivered = await drain(WebhookDeliverer(db, fast_settings), db, {"succeeded"})
            got = target.wait_for(4)
        assert delivered.attempts == 4
        assert len(got) == 4
        assert {request.headers["webhook-id"] for request in got} == {delivered.webhook_id}
        final = got[-1]
        webhooks.verify(endpoint.secret, final.headers, final.body)
        imageat_only = {"X-Imageat-Signature": final.headers["X-Imageat-Signature"]}
        webhooks.verify(endpoint.secret, imageat_only, final.body)
        standard_only = {k: v for k, v in final.headers.items() if k.lower().startswith("webhook-")}
        assert set(standard_only) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        webhooks.verify(endpoint.secret, standard_only, final.body)
        rows = await attempts(db, delivered.id)
        assert [row.status_code for row in rows] == [500, 502, 503, 200]
        assert all(row.latency_ms >= 0 for row in rows)
        assert rows[0].error is not None
        assert rows[0].error.startswith("HTTP 500")
    finally:
        await db.dispose()


async def test_hanging_receiver_is_timed_out_and_retried(fast_settings: Settings) -> None:
    db = Database(fast_settings.resolved_database_url)
    try:
        with receiver(Answer(200, delay=3.0), Answer(200)) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)
            await enqueue(db, fast_settings, record(endpoint.workspace_id))
            started = time.monotonic()
            delivered = await drain(WebhookDeliverer(db, fast_settings), db, {"succeeded"})
            assert time.monotonic() - started < 2.5
            target.wait_for(2)
        rows = await attempts(db, delivered.id)
        assert len(rows) == 2
        assert rows[0].status_code is None
        assert rows[0].error is not None
        assert "Timed out" in rows[0].error
        assert rows[1].status_code == 200
    finally:
        await db.dispose()


async def test_restart_of_the_delivery_loop_between_attempts_loses_nothing(fast_settings: Settings) -> None:
    first_db = Database(fast_settings.resolved_database_url)
    with receiver(Answer(500), Answer(204)) as target:
        endpoint = await make_endpoint(first_db, fast_settings, target.url)
        await enqueue(first_db, fast_settings, record(endpoint.workspace_id))
        assert await WebhookDeliverer(first_db, fast_settings).run_once() == 1
        await first_db.dispose()  # the process is gone; only the database remembers

        second_db = Database(fast_settings.resolved_database_url)
        try:
            [pending] = await deliveries(second_db)
            assert (pending.status, pending.attempts) == ("pending", 1)
            delivered = await drain(WebhookDeliverer(second_db, fast_settings), second_db, {"succeeded"})
            got = target.wait_for(2)
        finally:
            await second_db.dispose()
    assert delivered.attempts == 2
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]


async def test_claim_of_a_crashed_sender_expires_and_another_process_sends_it_once(fast_settings: Settings) -> None:
    db = Database(fast_settings.resolved_database_url)
    try:
        with receiver(Answer(200)) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)
            await enqueue(db, fast_settings, record(endpoint.workspace_id))
            crashed = WebhookDeliverer(db, fast_settings, owner="crashed")
            survivor = WebhookDeliverer(db, fast_settings, owner="survivor")
            assert len(await crashed.claim()) == 1
            assert await survivor.claim() == []  # leased: nobody else may send it now
            later = utcnow() + crashed.lease + timedelta(seconds=1)
            [(taken, _url)] = await survivor.claim(now=later)
            await survivor.deliver(taken)
            await crashed.deliver(taken)  # lost its claim: sends nothing
            assert len(target.wait_for(1)) == 1
            await asyncio.sleep(0.1)
            assert len(target.requests) == 1
        [row] = await deliveries(db)
        assert (row.status, row.attempts) == ("succeeded", 1)
    finally:
        await db.dispose()


async def test_two_processes_claiming_at_once_never_share_a_delivery(fast_settings: Settings) -> None:
    db_a = Database(fast_settings.resolved_database_url)
    db_b = Database(fast_settings.resolved_database_url)
    try:
        endpoint = await make_endpoint(db_a, fast_settings, "http://127.0.0.1:9/unused")
        await enqueue(db_a, fast_settings, *(record(endpoint.workspace_id, event_id=i) for i in range(20)))
        a = WebhookDeliverer(db_a, fast_settings, owner="a")
        b = WebhookDeliverer(db_b, fast_settings, owner="b")
        won_a, won_b = await asyncio.gather(a.claim(), b.claim())
        assert not {item[0] for item in won_a} & {item[0] for item in won_b}
        assert len(won_a) + len(won_b) == 20
    finally:
        await db_a.dispose()
        await db_b.dispose()


async def test_private_targets_are_refused_unless_allowed(fast_settings: Settings) -> None:
    strict = fast_settings.model_copy(update={"allow_private_urls": False})
    db = Database(strict.resolved_database_url)
    try:
        with receiver(Answer(200)) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)  # registered while allowed
            # A loopback name stored while allowed is caught at send time, not only literal addresses.
            async with db.session() as session:
                row = await session.get(WebhookEndpoint, endpoint.id)
                assert row is not None
                row.url = "https://localhost:1/hook"
            await enqueue(db, strict, record(endpoint.workspace_id))
            delivered = await drain(WebhookDeliverer(db, strict), db, {"failed"})
            assert target.requests == []
        [attempt] = await attempts(db, delivered.id)
        assert attempt.status_code is None
        assert attempt.error is not None
        assert "'localhost' names this machine" in attempt.error
        principal = await admin_principal(db)
        async with db.session() as session:
            with pytest.raises(PixelmillError) as raised:
                await WebhookEndpointService(session, strict).create(
                    principal, url="https://169.254.169.254/x", events=None
                )
        assert raised.value.code == "URL_NOT_ALLOWED"
        assert raised.value.extra["field"] == "url"
    finally:
        await db.dispose()


async def test_410_disables_the_endpoint_and_stops_its_other_deliveries(fast_settings: Settings) -> None:
    db = Database(fast_settings.resolved_database_url)
    try:
        with receiver(Answer(410)) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)
            await enqueue(db, fast_settings, record(endpoint.workspace_id))
            deliverer = WebhookDeliverer(db, fast_settings)
            await drain(deliverer, db, {"failed"})
            await enqueue(db, fast_settings, record(endpoint.workspace_id, event_id=2))  # disabled: nothing written
            assert len(target.requests) == 1
        async with db.session() as session:
            row = await session.get(WebhookEndpoint, endpoint.id)
            assert row is not None
            assert row.enabled is False
            assert row.disabled_reason is not None
            assert "410" in row.disabled_reason
        assert [row.status for row in await deliveries(db)] == ["failed"]
    finally:
        await db.dispose()


async def test_retry_after_from_the_receiver_postpones_the_next_attempt(fast_settings: Settings) -> None:
    db = Database(fast_settings.resolved_database_url)
    try:
        with receiver(Answer(503, headers={"Retry-After": "120"})) as target:
            endpoint = await make_endpoint(db, fast_settings, target.url)
            await enqueue(db, fast_settings, record(endpoint.workspace_id))
            before = utcnow()
            assert await WebhookDeliverer(db, fast_settings).run_once() == 1
            assert await WebhookDeliverer(db, fast_settings).run_once() == 0  # not due yet
        [row] = await deliveries(db)
        assert row.status == "pending"
        assert row.next_attempt_at >= before + timedelta(seconds=119)
    finally:
        await db.dispose()


async def test_retries_end_in_dead_when_the_schedule_is_spent(fast_settings: Settings) -> None:
    short = fast_settings.model_copy(update={"webhook_retry_schedule_seconds": [0.01, 0.01]})
    db = Database(short.resolved_database_url)
    try:
        with receiver(Answer(500)) as target:
            endpoint = await make_endpoint(db, short, target.url)
            await enqueue(db, short, record(endpoint.workspace_id))
            delivered = await drain(WebhookDeliverer(db, short), db, {"dead"})
            assert len(target.requests) == 3
        assert delivered.attempts == 3
    finally:
        await db.dispose()


async def test_outbox_gauges_count_pending_deliveries(fast_settings: Settings) -> None:
    from pixelmill.webhooks.metrics import OUTBOX_DEPTH, OUTBOX_OLDEST_AGE

    db = Database(fast_settings.resolved_database_url)
    try:
        endpoint = await make_endpoint(db, fast_settings, "http://127.0.0.1:9/unused")
        await enqueue(db, fast_settings, record(endpoint.workspace_id), record(endpoint.workspace_id, event_id=2))
        await asyncio.sleep(0.05)
        await WebhookDeliverer(db, fast_settings).refresh_gauges()
        assert OUTBOX_DEPTH._value.get() == 2
        assert OUTBOX_OLDEST_AGE._value.get() > 0
    finally:
        await db.dispose()


async def test_a_bad_stored_url_fails_its_one_delivery_with_a_reason_and_the_loop_keeps_delivering(
    fast_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows written before the one outbound-URL check (or by hand) may hold URLs httpx cannot parse:
    each costs one recorded attempt and fails; the loop and every other delivery go on."""
    db = Database(fast_settings.resolved_database_url)
    deliverer = WebhookDeliverer(db, fast_settings)
    try:
        with receiver(Answer(200)) as target:
            good = await make_endpoint(db, fast_settings, target.url)
            bad = await make_endpoint(db, fast_settings, target.url)
            async with db.session() as session:
                row = await session.get(WebhookEndpoint, bad.id)
                assert row is not None
                row.url = "http://0177.0.0.1/hook"
            await enqueue(db, fast_settings, record(bad.workspace_id, event_id=1))
            await enqueue(db, fast_settings, record(good.workspace_id, event_id=2, run_id="run_good"))
            await enqueue(db, fast_settings, record(good.workspace_id, event_id=3, run_id="run_stored_bad"))
            async with db.session() as session:
                stored = await session.scalar(select(WebhookDelivery).where(WebhookDelivery.run_id == "run_stored_bad"))
                assert stored is not None
                stored.url = "https://[::1/hook"
            with caplog.at_level(logging.WARNING, logger="pixelmill.webhooks"):
                await deliverer.start()
                deadline = time.monotonic() + 10
                while not all(row.status in ("succeeded", "failed") for row in await deliveries(db)):
                    rows = [(row.url, row.status, row.attempts) for row in await deliveries(db)]
                    assert time.monotonic() < deadline, rows
                    await asyncio.sleep(0.05)
            assert len(target.wait_for(1)) == 1
        assert "webhook delivery pass failed" not in caplog.text
        outcome = {row.run_id: row for row in await deliveries(db)}
        assert outcome["run_good"].status == "succeeded"
        for run_id in ("run_webhooktest", "run_stored_bad"):
            failed = outcome[run_id]
            assert (failed.status, failed.attempts) == ("failed", 1)
            [attempt] = await attempts(db, failed.id)
            assert attempt.status_code is None
            assert attempt.error is not None
            assert attempt.error.startswith("Not a valid URL"), attempt.error
            assert failed.last_error == attempt.error
    finally:
        await deliverer.stop()
        await db.dispose()


async def test_the_signature_headers_are_the_ones_the_setting_names(fast_settings: Settings) -> None:
    settings = fast_settings.model_copy(update={"webhook_signature_headers": ["X-Acme-Signature"]})
    db = Database(settings.resolved_database_url)
    try:
        with receiver() as target:
            endpoint = await make_endpoint(db, settings, target.url)
            await enqueue(db, settings, record(endpoint.workspace_id, status="completed"))
            await drain(WebhookDeliverer(db, settings), db, {"succeeded"})
            [got] = target.wait_for(1)
        names = {name.lower() for name in got.headers}
        assert "x-acme-signature" in names
        assert not {"x-pixelmill-signature", "x-imageat-signature"} & names
        acme = {"X-Acme-Signature": got.headers["X-Acme-Signature"]}
        webhooks.verify(endpoint.secret, acme, got.body, signed_headers=["X-Acme-Signature"])
    finally:
        await db.dispose()
