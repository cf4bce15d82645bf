"""image.generate / image.edit with ``gemini/*`` models, over real HTTP, against a fake Gemini API on
loopback (tests/support/fake_gemini.py) that records what it received."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextToImageRequest
from pixelmill.providers.gemini import GeminiProvider, read_error
from pixelmill.providers.upstream.client import Call, UpstreamClient, UpstreamConfig
from tests.integration.providers.test_openai_images import node_error, output_image, run_to_end, upload
from tests.support.accounts import SeededAccount
from tests.support.fake_gemini import COLOUR, OUTPUT_TOKENS, FakeGoogle, rate_limited_body, serve_fake_google
from tests.support.runs import grant, node, run_entries
from tests.support.upstream_settings import served_settings

KEY = "AIzaSyFAKEgeminiKey0123456789abcdSECRET42"
FLASH = "gemini-2.5-flash-image"
PRO = "gemini-3-pro-image-preview"
GENERATE = f"/v1beta/models/{FLASH}:generateContent"


@pytest.fixture
def fake() -> Iterator[tuple[FakeGoogle, str]]:
    with serve_fake_google(KEY) as served:
        yield served


def gemini_settings(tmp_path: Path, database_url: str, origin: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "gemini_api_key": KEY,
        "gemini_base_url": f"{origin}/v1beta",
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeGoogle, str]) -> Settings:
    return gemini_settings(tmp_path, database_url, fake[1])


def inline_image(part: dict[str, Any]) -> Image.Image:
    """An ``inlineData`` part the fake received, decoded."""
    assert part["inlineData"]["mimeType"] == "image/png"
    picture = Image.open(io.BytesIO(base64.b64decode(part["inlineData"]["data"])))
    picture.load()
    return picture


def test_a_run_with_gemini_flash_image_stores_the_upstreams_image_and_charges_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api, account, node("img", "image.generate", prompt="a lighthouse", model=f"gemini/{FLASH}", size="1536x1024")
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert picture.size == (1024, 683)  # 3:2 at 1K, as the fake makes it
    assert picture.convert("RGB").getpixel((10, 10)) == COLOUR
    (sent,) = server.requests(GENERATE)
    assert sent.headers["x-goog-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "contents": [{"role": "user", "parts": [{"text": "a lighthouse"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "3:2"}},
    }
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 45
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "gemini",
        "model": FLASH,
        "input_tokens": 2,
        "output_tokens": OUTPUT_TOKENS,
        "total_tokens": 2 + OUTPUT_TOKENS,
        "notes": "Here is your image: a lighthouse",
    }


def test_references_go_as_inline_data_and_thought_images_are_skipped(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    server, _ = fake
    server.thought_images = 2
    server.model_version = f"{PRO}-001"
    grant(settings.resolved_database_url, account.workspace_id, 50)
    refs = [
        {"type": "image", "file_id": upload(api, account, Image.new("RGB", (64, 48), c))}
        for c in ((1, 2, 3), (4, 5, 6))
    ]
    run = run_to_end(
        api,
        account,
        node("g", "image.generate", prompt="both", model=f"gemini/{PRO}", size="2048x1152", reference_images=refs),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests(f"/v1beta/models/{PRO}:generateContent")
    text, *images = sent.json["contents"][0]["parts"]
    assert text == {"text": "both"}
    assert [(i.size, i.convert("RGB").getpixel((0, 0))) for i in map(inline_image, images)] == [
        ((64, 48), (1, 2, 3)),
        ((64, 48), (4, 5, 6)),
    ]
    assert sent.json["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}
    picture = output_image(api, account, run, "g")
    assert picture.size == (2048, 1152)
    assert picture.convert("RGB").getpixel((5, 5)) == COLOUR  # not a grey draft
    (executed,) = run["nodes"]
    assert executed["usage"]["model"] == f"{PRO}-001"
    assert executed["usage"]["thoughts_tokens"] == 200
    assert executed["usage"]["notes"] == "Here is your image: both"  # the drafts' own text is not kept


def test_an_edit_sends_the_image_without_an_aspect_ratio(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    source = upload(api, account, Image.new("RGB", (300, 200), (200, 0, 0)))
    run = run_to_end(
        api,
        account,
        node(
            "e",
            "image.edit",
            image={"type": "image", "file_id": source},
            prompt="make it blue",
            model=f"gemini/{FLASH}",
        ),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests(GENERATE)
    text, image = sent.json["contents"][0]["parts"]
    assert text == {"text": "make it blue"}
    received = inline_image(image)
    assert (received.size, received.convert("RGB").getpixel((5, 5))) == ((300, 200), (200, 0, 0))
    assert sent.json["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"]}
    assert output_image(api, account, run, "e").size == (1024, 683)  # the input's 3:2 kept
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]


def test_n_images_are_n_calls_charged_per_image(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="two cats", model=f"gemini/{FLASH}", n=2))
    assert run["status"] == "completed", run
    assert len(run["outputs"]["img"]["value"]) == 2
    assert len(server.requests(GENERATE)) == 2
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 10), ("capture", 10)]
    (executed,) = run["nodes"]
    assert executed["usage"]["output_tokens"] == 2 * OUTPUT_TOKENS


@pytest.mark.parametrize(("prompt", "code"), [("UNSAFE", "IMAGE_SAFETY"), ("BLOCKED", "PROHIBITED_CONTENT")])
def test_a_safety_block_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str], prompt: str, code: str
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt=prompt, model=f"gemini/{FLASH}"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"], error["provider"]) == ("SAFETY_REFUSAL", code, "gemini")
    assert run_entries(settings.resolved_database_url, run["run_id"])[-1] == ("release", 5)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50
    assert len(fake[0].requests(GENERATE)) == 1  # a refusal is not retried


def test_an_answer_without_an_image_fails_clearly_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="TEXTONLY", model=f"gemini/{FLASH}"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"]) == ("UPSTREAM_UNAVAILABLE", "STOP")
    assert "without an image" in error["message"]
    assert "Here is a poem instead." in error["message"]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_bad_key_is_upstream_auth_failed_and_the_key_appears_nowhere(
    tmp_path: Path,
    database_url: str,
    fake: tuple[FakeGoogle, str],
    account: SeededAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.server import start_server

    wrong = "AIzaSyWRONGgeminiKey9876543210LEAKED77"
    settings = gemini_settings(tmp_path, database_url, fake[1], gemini_api_key=wrong)
    caplog.set_level(logging.DEBUG)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model=f"gemini/{FLASH}"))
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                stream = response.read().decode()
            models = api.get("/v1/models", headers=account.headers).text
            balance = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    finally:
        live.stop()
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_status"], error["upstream_code"]) == (
        "UPSTREAM_AUTH_FAILED",
        400,
        "API_KEY_INVALID",
    )
    assert len(fake[0].requests(GENERATE)) == 1  # an auth failure is not retried
    assert fake[0].requests(GENERATE)[0].headers["x-goog-api-key"] == wrong
    assert balance == 50
    seen = json.dumps(run) + stream + models + caplog.text
    for piece in (wrong, wrong[:8], wrong[-8:], "LEAKED"):
        assert piece not in seen


def test_a_429_with_retry_info_is_retried_and_then_succeeds(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str]
) -> None:
    server, _ = fake
    server.fail_next(429, rate_limited_body("0.6s"))
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model=f"gemini/{FLASH}"))
    assert run["status"] == "completed", run
    first, second = server.requests(GENERATE)
    assert second.at - first.at >= 0.6  # RetryInfo's wait, not the 0.5 s back-off
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]


def test_the_client_waits_as_long_as_retry_info_says(fake: tuple[FakeGoogle, str]) -> None:
    server, origin = fake
    server.fail_next(429, rate_limited_body("41s"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    config = UpstreamConfig(
        provider="gemini",
        base_url=f"{origin}/v1beta/",
        headers={"x-goog-api-key": KEY},
        secret=KEY,
        retry_budget_seconds=60,
    )
    client = UpstreamClient(config, read_error, sleep=sleep)
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"]},
    }

    async def call() -> int:
        try:
            response = await client.request(Call("POST", f"models/{FLASH}:generateContent", json=body))
            return response.status_code
        finally:
            await client.aclose()

    assert asyncio.run(call()) == 200
    assert waits == [41.0]


def test_a_429_past_the_retry_budget_is_upstream_rate_limited(fake: tuple[FakeGoogle, str]) -> None:
    server, origin = fake
    server.fail_next(429, rate_limited_body("41s"))
    provider = GeminiProvider.from_settings(
        Settings(gemini_api_key=SecretStr(KEY), gemini_base_url=f"{origin}/v1beta", upstream_retry_budget_seconds=5)
    )

    async def call() -> PixelmillError:
        try:
            with pytest.raises(PixelmillError) as raised:
                await provider.text_to_image(f"gemini/{FLASH}", TextToImageRequest("a cat", 1024, 1024, seed=0))
            return raised.value
        finally:
            await provider.aclose()

    error = asyncio.run(call())
    assert (error.code, error.extra["upstream_code"], error.extra["upstream_status"]) == (
        "UPSTREAM_RATE_LIMITED",
        "RESOURCE_EXHAUSTED",
        429,
    )
    assert len(server.requests(GENERATE)) == 1


def test_check_key_lists_models_with_the_key_and_a_copy_with_another_key_is_refused(
    fake: tuple[FakeGoogle, str],
) -> None:
    server, origin = fake
    operator = GeminiProvider.from_settings(Settings(gemini_api_key=SecretStr(KEY), gemini_base_url=f"{origin}/v1beta"))
    wrong = "AIzaSyWorkspaceKeyThatIsWrong000000TAIL"
    workspace = operator.with_key(wrong)

    async def check() -> PixelmillError:
        try:
            await operator.check_key()
            with pytest.raises(PixelmillError) as refused:
                await workspace.check_key()
            return refused.value
        finally:
            await operator.aclose()
            await workspace.aclose()

    error = asyncio.run(check())
    assert (error.code, error.extra["upstream_code"]) == ("UPSTREAM_AUTH_FAILED", "API_KEY_INVALID")
    assert wrong not in str(error) + repr(error.extra)
    assert [r.headers["x-goog-api-key"] for r in server.requests("/v1beta/models")] == [KEY, wrong]
    assert workspace.is_configured()
    assert (workspace.id, workspace.key_env) == ("gemini", "GEMINI_API_KEY")
    assert not GeminiProvider.from_settings(Settings(gemini_base_url=f"{origin}/v1beta")).is_configured()


def test_gemini_models_are_listed_only_with_a_key_and_not_for_test_keys(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    from tests.support.accounts import seed_account
    from tests.support.server import start_server

    listed = api.get("/v1/models", headers=account.headers).json()["data"]
    gemini = {m["id"]: m for m in listed if m["provider"] == "gemini"}
    assert set(gemini) == {f"gemini/{FLASH}", f"gemini/{PRO}", "gemini/gemini-3.1-flash-image-preview"}
    assert not any(m["sandbox"] for m in gemini.values())
    assert gemini[f"gemini/{PRO}"]["limits"]["image_sizes"] == ["1K", "2K", "4K"]
    assert not any(m["provider"] == "vertex" for m in listed)  # no service account configured
    tester = seed_account(settings.resolved_database_url, mode="test")
    graph = {"nodes": [node("img", "image.generate", prompt="x", model=f"gemini/{FLASH}")], "edges": []}
    sandboxed = api.post("/v1/runs", json={"graph": graph}, headers=tester.headers)
    assert sandboxed.status_code == 403, sandboxed.text
    too_many = {
        "nodes": [
            node(
                "img",
                "image.generate",
                prompt="x",
                model=f"gemini/{FLASH}",
                reference_images=[{"type": "image", "file_id": upload(api, account, Image.new("RGB", (8, 8)))}] * 4,
            )
        ],
        "edges": [],
    }
    refused_refs = api.post("/v1/runs", json={"graph": too_many}, headers=account.headers)
    assert refused_refs.status_code == 422, refused_refs.text
    assert refused_refs.json()["error"]["field"] == "reference_images"
    keyless = Settings(
        data_dir=tmp_path / "keyless",
        database_url=settings.resolved_database_url,
        secret_key=SecretStr("test-secret-key-that-is-long-enough-for-hs256"),
        plan_credits_enabled=False,
    )
    live = start_server(keyless)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as other:
            ids = [m["id"] for m in other.get("/v1/models", headers=account.headers).json()["data"]]
    finally:
        live.stop()
    assert not any(model_id.startswith("gemini/") for model_id in ids)
    assert fake[0].requests(GENERATE) == []
