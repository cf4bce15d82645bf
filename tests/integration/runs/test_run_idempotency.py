"""The same Idempotency-Key sent 20 times at once to POST /v1/runs creates one run."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.accounts import SeededAccount
from tests.support.runs import node


def test_twenty_concurrent_creates_with_one_key_make_one_run(api: httpx.Client, account: SeededAccount) -> None:
    body = {"graph": {"nodes": [node("s", "test.sleep", seconds=0.05)], "edges": []}}
    headers = {**account.headers, "Idempotency-Key": "one-run-please"}

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:
            return await asyncio.gather(*[client.post("/v1/runs", json=body, headers=headers) for _ in range(20)])

    responses = asyncio.run(send_all())
    created = {r.json()["run_id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    for response in responses:
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    runs = api.get("/v1/runs", headers=account.headers).json()["data"]
    assert [item["run_id"] for item in runs] == list(created)
    replay = api.post("/v1/runs", json=body, headers=headers)
    assert (replay.status_code, replay.json()["run_id"], replay.headers["idempotent-replayed"]) == (
        201,
        next(iter(created)),
        "true",
    )
    assert len(api.get("/v1/runs", headers=account.headers).json()["data"]) == 1
