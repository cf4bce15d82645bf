"""image.generate / image.edit with ``xai/*`` models, over real HTTP, against a fake xAI Images API
on loopback (tests/support/fake_xai.py) that records what it received."""

from __future__ import annotations

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
from tests.integration.providers.test_openai_images import node_error, output_image, run_to_end, upload
from tests.support.accounts import SeededAccount
from tests.support.fake_xai import COLOUR, COST_TICKS, FakeXAI, error_body, serve_fake_xai
from tests.support.runs import grant, node, run_entries
from tests.support.upstream_settings import served_settings

KEY = "xai-fakekey0123456789abcdefSECRETTAIL42"


@pytest.fixture
def fake() -> Iterator[tuple[FakeXAI, str]]:
    with serve_fake_xai(KEY) as served:
        yield served


def xai_settings(tmp_path: Path, database_url: str, base_url: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "xai_api_key": KEY,
        "xai_base_url": base_url,
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeXAI, str]) -> Settings:
    return xai_settings(tmp_path, database_url, fake[1])


def sent_image(url: str) -> Image.Image:
    """A ``data:`` URI the fake received, decoded."""
    prefix, _, data = url.partition(",")
    assert prefix == "data:image/png;base64"
    picture = Image.open(io.BytesIO(base64.b64decode(data)))
    picture.load()
    return picture


def test_a_run_with_grok_imagine_stores_the_upstreams_image_and_charges_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api,
        account,
        node("img", "image.generate", prompt="a lighthouse", model="xai/grok-imagine-image", size="1536x1024"),
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert picture.size == (1024, 683)  # 3:2 at 1k, as xAI makes it
    assert picture.convert("RGB").getpixel((10, 10)) == COLOUR
    (sent,) = server.requests("/v1/images/generations")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "model": "grok-imagine-image",
        "prompt": "a lighthouse",
        "n": 1,
        "response_format": "b64_json",
        "aspect_ratio": "3:2",
        "resolution": "1k",
    }
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 45
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "xai",
        "model": "grok-imagine-image",
        "cost_in_usd_ticks": COST_TICKS,
        "revised_prompt": "A detailed picture: a lighthouse",
    }


def test_an_edit_sends_the_image_as_a_data_uri_and_reads_a_prefixed_answer(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    server.data_uri_prefix = True
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
            model="xai/grok-imagine-image-quality",
        ),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/edits")
    assert sent.headers["content-type"] == "application/json"
    body = dict(sent.json)
    image = body.pop("image")
    assert body == {
        "model": "grok-imagine-image-quality",
        "prompt": "make it blue",
        "n": 1,
        "response_format": "b64_json",
        "resolution": "1k",
    }
    received = sent_image(image["url"])
    assert received.size == (300, 200)
    assert received.convert("RGB").getpixel((5, 5)) == (200, 0, 0)
    assert output_image(api, account, run, "e").convert("RGB").getpixel((3, 3)) == COLOUR
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]


def test_references_go_to_edits_as_images(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    refs = [
        {"type": "image", "file_id": upload(api, account, Image.new("RGB", (64, 64), c))}
        for c in ((1, 2, 3), (4, 5, 6))
    ]
    run = run_to_end(
        api,
        account,
        node(
            "g",
            "image.generate",
            prompt="both",
            model="xai/grok-imagine-image",
            size="2048x1152",
            reference_images=refs,
        ),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/edits")
    assert "image" not in sent.json
    assert [sent_image(item["url"]).convert("RGB").getpixel((0, 0)) for item in sent.json["images"]] == [
        (1, 2, 3),
        (4, 5, 6),
    ]
    assert (sent.json["aspect_ratio"], sent.json["resolution"]) == ("16:9", "2k")


@pytest.mark.parametrize(("prompt", "code"), [("FORBIDDEN", "respect_moderation"), ("BLOCKED", "csam_prompt")])
def test_a_moderation_refusal_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str], prompt: str, code: str
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt=prompt, model="xai/grok-imagine-image"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"], error["provider"]) == ("SAFETY_REFUSAL", code, "xai")
    assert run_entries(settings.resolved_database_url, run["run_id"])[-1] == ("release", 5)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_bad_key_is_upstream_auth_failed_and_the_key_appears_nowhere(
    tmp_path: Path,
    database_url: str,
    fake: tuple[FakeXAI, str],
    account: SeededAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.server import start_server

    wrong = "xai-wrongkey9876543210fedcbaLEAKED77"
    settings = xai_settings(tmp_path, database_url, fake[1], xai_api_key=wrong)
    caplog.set_level(logging.DEBUG)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(
                api, account, node("img", "image.generate", prompt="a cat", model="xai/grok-imagine-image")
            )
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                stream = response.read().decode()
            models = api.get("/v1/models", headers=account.headers).text
            balance = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    finally:
        live.stop()
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_status"], error["provider"]) == ("UPSTREAM_AUTH_FAILED", 400, "xai")
    assert len(fake[0].requests()) == 1  # an auth failure is not retried
    assert balance == 50
    seen = json.dumps(run) + stream + models + caplog.text
    for piece in (wrong, wrong[:8], wrong[-8:], "LEAKED", "xa***77"):
        assert piece not in seen


def test_xai_models_are_listed_only_with_a_key_and_not_for_test_keys(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str], tmp_path: Path
) -> None:
    from tests.support.accounts import seed_account
    from tests.support.server import start_server

    listed = api.get("/v1/models", headers=account.headers).json()["data"]
    xai = {m["id"]: m for m in listed if m["provider"] == "xai"}
    assert set(xai) == {"xai/grok-imagine-image", "xai/grok-imagine-image-quality", "xai/grok-imagine-video"}
    assert (xai["xai/grok-imagine-video"]["generation_type"], xai["xai/grok-imagine-video"]["cost"]) == ("video", 3)
    assert not any(m["sandbox"] for m in xai.values())
    assert xai["xai/grok-imagine-image"]["limits"]["resolutions"] == ["1k", "2k"]
    tester = seed_account(settings.resolved_database_url, mode="test")
    graph = {"nodes": [node("img", "image.generate", prompt="x", model="xai/grok-imagine-image")], "edges": []}
    sandboxed = api.post("/v1/runs", json={"graph": graph}, headers=tester.headers)
    assert sandboxed.status_code == 403, sandboxed.text
    assert sandboxed.json()["error"]["code"] == "SANDBOX_ONLY"
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
            refused = other.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    finally:
        live.stop()
    assert not any(model_id.startswith("xai/") for model_id in ids)
    assert refused.status_code == 422
    assert refused.json()["error"]["model"] == "xai/grok-imagine-image"
    assert fake[0].requests() == []


def test_inpaint_sends_the_image_and_the_mask_as_data_uris(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    source = upload(api, account, Image.new("RGB", (256, 128), (0, 200, 0)))
    mask = Image.new("L", (256, 128), 0)
    mask.paste(255, (0, 0, 128, 128))  # repaint the left half
    mask_id = upload(api, account, mask)
    run = run_to_end(
        api,
        account,
        node(
            "p",
            "image.inpaint",
            image={"type": "image", "file_id": source},
            mask={"type": "image", "file_id": mask_id},
            prompt="a door",
            model="xai/grok-imagine-image",
        ),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/edits")
    assert sent_image(sent.json["image"]["url"]).convert("RGB").getpixel((200, 10)) == (0, 200, 0)
    sent_mask = sent_image(sent.json["mask"]["url"])
    assert sent_mask.size == (256, 128)
    assert (sent_mask.getpixel((10, 10)), sent_mask.getpixel((200, 10))) == (255, 0)
    assert "aspect_ratio" not in sent.json


def test_xais_native_moderation_error_is_safety_refusal_with_its_message(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    server.fail_next(400, error_body("Generated image rejected by content moderation"))
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="xai/grok-imagine-image"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_status"]) == ("SAFETY_REFUSAL", 400)
    assert "content moderation" in error["message"]
    assert len(server.requests()) == 1
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_429_in_xais_shape_is_retried_and_then_succeeds(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    server.fail_next(429, error_body("Too many requests", "Too many requests"), {"retry-after": "0"})
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="xai/grok-imagine-image"))
    assert run["status"] == "completed", run
    assert len(server.requests("/v1/images/generations")) == 2
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
