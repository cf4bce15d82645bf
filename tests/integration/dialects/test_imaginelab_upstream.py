"""ImagineLab generations on an upstream model (a fake OpenAI Images API on loopback): the seed's
model name runs real AI where the operator configured it, and an upstream failure reads ``failed``
with the reason, its credits released."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI, error_body
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer


@pytest.fixture
def settings(settings: Settings, fake: tuple[FakeOpenAI, str]) -> Settings:
    return settings.model_copy(
        update={
            "plans": unthrottled_plans(),
            "dispatch_poll_seconds": 0.2,
            "openai_api_key": SecretStr(FAKE_OPENAI_KEY),
            "openai_base_url": fake[1],
            "upstream_retry_budget_seconds": 5,
            "imaginelab_models": {"seedream-5.0-lite": "openai/gpt-image-1"},
        }
    )


@pytest.fixture
def base(live_server: LiveServer, account: SeededAccount, settings: Settings) -> str:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    return f"{live_server.url}/api/v1"


def finish(base: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    created = httpx.post(f"{base}/generations", headers=headers, json=body)
    assert created.status_code == 201, created.text
    gid = created.json()["id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/generations/{gid}/status", headers=headers).json()["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return created.json(), httpx.get(f"{base}/generations/{gid}", headers=headers).json()


def test_the_documented_model_name_runs_the_configured_upstream_model(
    base: str, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    body = {"generation_type": "image", "model_name": "seedream-5.0-lite", "prompt": "A neon city skyline at dusk"}
    created, done = finish(base, account.headers, body)
    assert (created["model_name"], done["model_name"], done["status"]) == (
        "seedream-5.0-lite",
        "seedream-5.0-lite",
        "completed",
    )
    (received,) = server.requests("/v1/images/generations")
    assert received.json is not None
    assert (received.json["model"], received.json["prompt"]) == ("gpt-image-1", "A neon city skyline at dusk")
    picture = Image.open(io.BytesIO(httpx.get(done["outputs"][0]).content))
    assert picture.format == "PNG"
    models = {m["name"]: m["runs"] for m in httpx.get(f"{base}/generations/models", headers=account.headers).json()}
    assert models["seedream-5.0-lite"] == "openai/gpt-image-1"


def test_an_upstream_failure_reads_failed_with_the_reason_and_costs_nothing(
    base: str, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    for _ in range(5):
        server.fail_next(500, error_body("The server had an error", "server_error", None), {"retry-after-ms": "10"})
    body = {"generation_type": "image", "model_name": "openai/gpt-image-1", "prompt": "A lighthouse"}
    _created, done = finish(base, account.headers, body)
    assert done["status"] == "failed"
    assert done["error"]
    assert FAKE_OPENAI_KEY not in str(done)
    assert done["outputs"] == []
    wallet = httpx.get(f"{base}/credits/wallet", headers=account.headers).json()
    assert wallet == {"balance": 500, "reserved": 0, "available": 500}
