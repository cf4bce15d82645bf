"""The async client mirrors the sync one; the same canned server answers both."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pixelmill.client import InsufficientCredits
from pixelmill.client.testing import MockServer, error_response, run_body, sse_body


@pytest.mark.anyio
async def test_async_create_retries_with_one_idempotency_key() -> None:
    server = MockServer()
    server.add(
        "POST",
        "/v1/runs",
        responses=[
            error_response(502, "PROVIDER_ERROR", "x"),
            httpx.Response(201, json={"run_id": "r", "status": "queued"}),
        ],
    )
    async with server.async_client() as client:
        created = await client.runs.create({"nodes": []})
    assert created.run_id == "r"
    assert len({r.headers["Idempotency-Key"] for r in server.requests}) == 1
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_async_402_is_insufficient_credits() -> None:
    server = MockServer()
    server.add("POST", "/v1/runs", responses=[error_response(402, "INSUFFICIENT_CREDITS", "x", balance=0, required=5)])
    async with server.async_client() as client:
        with pytest.raises(InsufficientCredits) as caught:
            await client.runs.create({"nodes": []})
    assert (caught.value.balance, caught.value.required) == (0, 5)


@pytest.mark.anyio
async def test_async_events_and_wait_and_download(tmp_path: Path) -> None:
    server = MockServer()
    server.add("GET", "/v1/runs/{rid}/events", content=sse_body([("node_start", {"node_id": "a"}), ("run_failed", {})]))
    server.add(
        "GET", "/v1/runs/{rid}", json=run_body("r", status="completed", outputs={"t": {"type": "text", "value": "hi"}})
    )
    async with server.async_client() as client:
        names = [event.event async for event in client.runs.events("r")]
        run = await client.runs.wait("r")
        paths = await client.runs.download_outputs(run, tmp_path)
    assert names == ["node_start", "run_failed"]
    assert [p.read_text() for p in paths] == ["hi"]
