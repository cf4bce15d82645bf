"""imagerift modes on an upstream model (a fake OpenAI Images API on loopback): a mode the operator
mapped in ``imagerift_mode_models`` runs real AI, the others keep the CPU styles, and an upstream
failure reads ``failed`` with every reserved credit back."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from pixelmill.config import Settings
from tests.integration.dialects.test_imagerift import PHOTO, picture, wait_job
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
            "upstream_retry_budget_seconds": 2,
            "imagerift_mode_models": {"style": "openai/gpt-image-1", "avatar": "openai/gpt-image-1"},
        }
    )


@pytest.fixture
def base(live_server: LiveServer, account: SeededAccount, settings: Settings) -> str:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    return live_server.url


def generate(base: str, account: SeededAccount, **body: Any) -> dict[str, Any]:
    answer = httpx.post(f"{base}/api/v1/generate", headers=account.headers, json={"imageBase64": PHOTO, **body})
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_a_configured_mode_runs_the_upstream_model(
    base: str, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    created = generate(base, account, mode="avatar", style="oil-paint", prompt="smiling, warm light")
    job = wait_job(base, account.headers, created["jobId"])
    assert (job["status"], job["model"]) == ("succeeded", "openai/gpt-image-1"), job
    (received,) = server.requests("/v1/images/edits")
    assert received.form["model"] == "gpt-image-1"
    assert received.form["prompt"].startswith("Turn this selfie into an oil-paint avatar portrait")
    assert received.form["prompt"].endswith("smiling, warm light")
    ((_, sent),) = received.files
    assert Image.open(io.BytesIO(sent)).size == (320, 240)  # the selfie itself went upstream
    assert max(picture(job["downloadUrl"]).size) == 1024  # the upstream's picture, at the base class's size
    # A mode the operator did not map stays on the CPU styles.
    cpu = wait_job(base, account.headers, generate(base, account, mode="enhance")["jobId"])
    assert (cpu["status"], cpu["model"]) == ("succeeded", "local/cv")
    assert len(server.requests("/v1/images/edits")) == 1


def test_an_upstream_failure_fails_the_job_and_charges_nothing(
    base: str, api: httpx.Client, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    server.fail_next(400, error_body("Invalid image file.", "invalid_request_error", "invalid_image", "image"))
    created = generate(base, account, mode="style")
    reserved = 500 - created["quota"]["remainingAfterQueue"]
    assert reserved > 0
    job = wait_job(base, account.headers, created["jobId"])
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "UPSTREAM_BAD_REQUEST"
    assert "Invalid image file" in job["error"]["message"]
    assert (job["downloadUrl"], job["credits"]) == (None, 0)
    deadline = time.monotonic() + 10
    while (wallet := api.get("/v1/credits/wallet", headers=account.headers).json())["reserved"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (wallet["balance"], wallet["reserved"]) == (500, 0)
