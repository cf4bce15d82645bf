"""The idempotency store on a real database: a claim abandoned by a dead process is taken over, a live one is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from pixelmill import errors
from pixelmill.db.models import IdempotencyRecord
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.idempotency import ABANDONED_AFTER, IdempotencyStore, StoredResponse
from tests.support.accounts import seed_account_async

pytestmark = pytest.mark.anyio


async def _age_claim(runtime: Runtime, workspace_id: str, key: str, by: timedelta) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
            .values(created_at=datetime.now(UTC) - by)  # claimed a moment ago, so now minus ``by``
        )


async def test_a_claim_in_flight_refuses_a_second_claimer(runtime: Runtime) -> None:
    account = await seed_account_async(runtime.db)
    store = IdempotencyStore(runtime.db)
    assert await store.claim(account.workspace_id, "k1", "print") is None
    await _age_claim(runtime, account.workspace_id, "k1", ABANDONED_AFTER - timedelta(seconds=30))
    with pytest.raises(PixelmillError) as refused:
        await store.claim(account.workspace_id, "k1", "print")
    assert refused.value.code == errors.IDEMPOTENCY_KEY_IN_USE.code


async def test_a_claim_abandoned_by_a_dead_process_is_taken_over(runtime: Runtime) -> None:
    account = await seed_account_async(runtime.db)
    store = IdempotencyStore(runtime.db)
    assert await store.claim(account.workspace_id, "k1", "print") is None
    await _age_claim(runtime, account.workspace_id, "k1", ABANDONED_AFTER + timedelta(seconds=1))
    assert await store.claim(account.workspace_id, "k1", "print") is None  # ours now
    with pytest.raises(PixelmillError) as refused:  # and held again, fresh
        await store.claim(account.workspace_id, "k1", "print")
    assert refused.value.code == errors.IDEMPOTENCY_KEY_IN_USE.code


async def test_an_old_completed_response_is_still_replayed(runtime: Runtime) -> None:
    account = await seed_account_async(runtime.db)
    store = IdempotencyStore(runtime.db)
    assert await store.claim(account.workspace_id, "k1", "print") is None
    await store.complete(account.workspace_id, "k1", StoredResponse(201, {"content-type": "application/json"}, b"{}"))
    await _age_claim(runtime, account.workspace_id, "k1", ABANDONED_AFTER * 10)
    replay = await store.claim(account.workspace_id, "k1", "print")
    assert replay is not None
    assert (replay.status, replay.body) == (201, b"{}")
