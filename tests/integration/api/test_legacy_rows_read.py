"""Rows stored before the input edge refused bad text (SQLite kept lone surrogates, NaN and very deep
metadata; PostgreSQL's jsonb never accepted them) must not make every read of their workspace fail:
lists, reads, restore and the generation views answer 200 with the value made sendable."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pixelmill.config import Settings
from pixelmill.db.models import Run
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans

GRAPH = {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "hello"}}], "edges": []}
LEGACY: dict[str, Any] = {"note": "ok \udc80", "x": float("nan"), "deep": json.loads('{"a": ' * 200 + "1" + "}" * 200)}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's jsonb never stored these values, so it has no such rows to read")
    return settings.model_copy(
        update={"plans": unthrottled_plans(), "allow_private_urls": False, "dispatch_poll_seconds": 0.2}
    )


def store_legacy_metadata(settings: Settings, run_id: str, metadata: dict[str, Any]) -> None:
    """Write ``metadata`` as an older version would have (it stored whatever json.loads read)."""

    async def write() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await session.execute(update(Run).where(Run.id == run_id).values(run_metadata=metadata))
        finally:
            await db.dispose()

    asyncio.run(write())


async def grant(settings: Settings, workspace_id: str, amount: int) -> None:
    db = Database(settings.resolved_database_url)
    try:
        async with db.session() as session:
            await CreditLedger(session).grant(workspace_id, amount, "test grant")
    finally:
        await db.dispose()


def test_a_legacy_run_with_unsendable_metadata_reads_everywhere(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    created = api.post("/v1/runs", json={"graph": GRAPH}, headers={**account.headers, "Prefer": "wait=10"})
    assert created.status_code == 201, created.text
    run_id = created.json()["run_id"]
    store_legacy_metadata(settings, run_id, LEGACY)

    listed = api.get("/v1/runs", headers=account.headers)
    assert listed.status_code == 200, listed.text
    metadata = listed.json()["data"][0]["metadata"]
    assert metadata["note"] == "ok \ufffd"
    assert metadata["x"] is None
    assert api.get(f"/v1/runs/{run_id}", headers=account.headers).status_code == 200
    assert api.delete(f"/v1/runs/{run_id}", headers=account.headers).status_code == 200
    restored = api.post(f"/v1/runs/{run_id}/restore", headers=account.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["metadata"]["note"] == "ok \ufffd"


def test_a_legacy_generation_with_an_unsendable_project_id_reads(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    asyncio.run(grant(settings, account.workspace_id, 100))
    body = {"generation_type": "infographic", "prompt": "Sales", "project_id": "p"}
    created = api.post("/v1/generations", json=body, headers=account.headers)
    assert created.status_code == 201, created.text
    generation_id = created.json()["id"]
    stored = {**created.json(), "project_id": "p \udc80", "prompt": "Sales \ud800"}
    metadata = {key: stored[key] for key in ("generation_type", "model_name", "prompt", "mode", "settings")}
    store_legacy_metadata(settings, generation_id, {**metadata, "project_id": stored["project_id"]})

    listed = api.get("/v1/generations", headers=account.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"][0]["project_id"] == "p \ufffd"
    one = api.get(f"/v1/generations/{generation_id}", headers=account.headers)
    assert one.status_code == 200, one.text
    assert one.json()["prompt"] == "Sales \ufffd"
