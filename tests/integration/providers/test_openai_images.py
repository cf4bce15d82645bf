"""image.generate / image.edit / image.inpaint with ``openai/*`` models, over real HTTP, against a
fake OpenAI Images API on loopback (tests/support/fake_openai.py) that records what it received."""

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
from tests.support.accounts import SeededAccount
from tests.support.databases import PostgresTemplate
from tests.support.fake_openai import COLOUR, FakeOpenAI, error_body, serve_fake_openai
from tests.support.runs import grant, node, run_entries, wait_for
from tests.support.sse import parse_frames
from tests.support.upstream_settings import served_settings

KEY = "sk-proj-fakekey-0123456789abcdefSECRET3456"
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


def openai_settings(tmp_path: Path, database_url: str, base_url: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "openai_api_key": KEY,
        "openai_base_url": base_url,
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return openai_settings(tmp_path, database_url, fake[1])


def start(api: httpx.Client, account: SeededAccount, *nodes: dict[str, Any]) -> httpx.Response:
    headers = {**account.headers, "Prefer": "wait=20"}
    return api.post("/v1/runs", json={"graph": {"nodes": list(nodes), "edges": []}}, headers=headers)


def node_error(run: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The failed node's error as run reads show it (the run's own error keeps code and message only)."""
    (found,) = [item for item in run["nodes"] if item["node_id"] == node_id]
    assert run["error"]["code"] == found["error"]["code"]
    error: dict[str, Any] = found["error"]
    return error


def run_to_end(api: httpx.Client, account: SeededAccount, *nodes: dict[str, Any]) -> dict[str, Any]:
    response = start(api, account, *nodes)
    assert response.status_code == 201, response.text
    return wait_for(api, account.headers, response.json()["run_id"], until=TERMINAL, timeout=30)


def output_image(api: httpx.Client, account: SeededAccount, run: dict[str, Any], node_id: str) -> Image.Image:
    output = run["outputs"][node_id]
    assert output["type"] in ("image", "images"), output
    url = output["value"] if output["type"] == "image" else output["value"][0]
    response = api.get(url)  # a signed URL
    assert response.status_code == 200, response.text
    picture = Image.open(io.BytesIO(response.content))
    picture.load()
    return picture


def upload(api: httpx.Client, account: SeededAccount, picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    files = {"file": ("in.png", buffer.getvalue(), "image/png")}
    response = api.post("/v1/files", files=files, headers=account.headers)
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def test_a_run_with_gpt_image_1_stores_the_upstreams_image_and_charges_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api, account, node("img", "image.generate", prompt="a lighthouse", model="openai/gpt-image-1", size="1536x1024")
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert picture.size == (1536, 1024)
    assert picture.convert("RGB").getpixel((10, 10)) == COLOUR
    (sent,) = server.requests("/v1/images/generations")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {"model": "gpt-image-1", "prompt": "a lighthouse", "n": 1, "size": "1536x1024"}
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 45
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "openai",
        "model": "gpt-image-1",
        "input_tokens": 50,
        "output_tokens": 4160,
        "total_tokens": 4210,
    }


def test_dall_e_3_gets_b64_json_and_a_size_it_makes(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api, account, node("img", "image.generate", prompt="a fox", model="openai/dall-e-3", aspect_ratio="16:9")
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests()
    assert sent.json == {
        "model": "dall-e-3",
        "prompt": "a fox",
        "n": 1,
        "size": "1792x1024",
        "response_format": "b64_json",
    }
    assert output_image(api, account, run, "img").size == (1792, 1024)
    assert run["nodes"][0]["usage"]["revised_prompt"] == "a revised prompt"


def test_streamed_partial_images_become_node_progress_events(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str], account: SeededAccount
) -> None:
    from tests.support.server import start_server

    server, base_url = fake
    settings = openai_settings(tmp_path, database_url, base_url, openai_partial_images=2)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(api, account, node("img", "image.generate", prompt="a boat", model="openai/gpt-image-1"))
            assert run["status"] == "completed", run
            assert output_image(api, account, run, "img").size == (1024, 1024)
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                assert response.status_code == 200, response.read()
                frames = list(parse_frames(response.iter_lines()))
    finally:
        live.stop()
    (sent,) = server.requests()
    assert sent.json is not None
    assert (sent.json["stream"], sent.json["partial_images"]) == (True, 2)
    messages = [f.data.get("message") for f in frames if f.event == "node_progress" and f.data]
    assert "partial image 1 of 2" in messages, messages
    assert "partial image 2 of 2" in messages, messages
    previews = [f.data["preview"] for f in frames if f.event == "node_progress" and f.data and "preview" in f.data]
    assert previews, frames
    for preview in previews:
        assert preview.startswith("data:image/jpeg;base64,")
        small = Image.open(io.BytesIO(base64.b64decode(preview.split(",", 1)[1])))
        assert max(small.size) <= 96
        assert len(preview) < 8000


def test_a_429_with_retry_after_ms_is_retried_after_that_wait_and_then_succeeds(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    limited = error_body("Rate limit reached for images", "requests", "rate_limit_exceeded")
    server.fail_next(429, limited, {"retry-after-ms": "600", "retry-after": "30"})
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="openai/gpt-image-1-mini"))
    assert run["status"] == "completed", run
    first, second = server.requests()
    assert 0.6 <= second.at - first.at < 3  # retry-after-ms wins over the 30 s Retry-After
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 45


def test_rate_limits_beyond_the_budget_fail_upstream_rate_limited_and_cost_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    server.fail_next(429, error_body("slow down", "requests", "rate_limit_exceeded"), {"retry-after": "60"})
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="openai/gpt-image-1"))
    assert run["status"] == "failed"
    assert node_error(run, "img")["code"] == "UPSTREAM_RATE_LIMITED"
    assert len(server.requests()) == 1  # a 60 s wait does not fit the 5 s budget: no second call
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_safety_refusal_is_safety_refusal_with_the_upstream_code_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="FORBIDDEN", model="openai/gpt-image-1"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"], error["provider"]) == (
        "SAFETY_REFUSAL",
        "moderation_blocked",
        "openai",
    )
    assert "safety system" in error["message"]
    assert run_entries(settings.resolved_database_url, run["run_id"])[-1] == ("release", 5)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_bad_key_is_upstream_auth_failed_and_the_key_appears_nowhere(
    tmp_path: Path,
    database_url: str,
    fake: tuple[FakeOpenAI, str],
    account: SeededAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.server import start_server

    wrong = "sk-proj-wrongkey-9876543210fedcbaLEAKED7777"
    settings = openai_settings(tmp_path, database_url, fake[1], openai_api_key=wrong)
    caplog.set_level(logging.DEBUG)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="openai/gpt-image-1"))
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                stream = response.read().decode()
            models = api.get("/v1/models", headers=account.headers).text
    finally:
        live.stop()
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"]) == ("UPSTREAM_AUTH_FAILED", "invalid_api_key")
    seen = json.dumps(run) + stream + models + caplog.text
    for piece in (wrong, wrong[:8], wrong[-8:], "LEAKED"):
        assert piece not in seen


def test_openai_models_are_listed_only_with_a_key(
    api: httpx.Client, account: SeededAccount, tmp_path: Path, database_url: str
) -> None:
    listed = api.get("/v1/models", headers=account.headers).json()["data"]
    openai = {m["id"]: m for m in listed if m["provider"] == "openai" and m["generation_type"] == "image"}
    assert set(openai) == {"openai/gpt-image-1", "openai/gpt-image-1-mini", "openai/dall-e-3", "openai/dall-e-2"}
    assert openai["openai/dall-e-3"]["limits"]["max_images"] == 1
    assert openai["openai/dall-e-2"]["limits"]["sizes"] == ["256x256", "512x512", "1024x1024"]
    assert not any(m["sandbox"] for m in openai.values())
    from tests.support.server import start_server

    keyless = Settings(
        data_dir=tmp_path / "keyless",
        database_url=database_url,
        secret_key=SecretStr("test-secret-key-that-is-long-enough-for-hs256"),
        plan_credits_enabled=False,
    )
    live = start_server(keyless)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as other:
            ids = [m["id"] for m in other.get("/v1/models", headers=account.headers).json()["data"]]
            refused = other.post(
                "/v1/runs",
                json={"graph": {"nodes": [node("i", "image.generate", prompt="x", model="openai/gpt-image-1")]}},
                headers=account.headers,
            )
    finally:
        live.stop()
    assert not any(model_id.startswith("openai/") for model_id in ids)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["model"], error["node_id"]) == ("INVALID_INPUT", "openai/gpt-image-1", "i")
    assert "local/procedural" in error["configured"]
    assert "openai/gpt-image-1" not in error["configured"]


def test_an_unknown_model_is_422_naming_it_and_listing_the_configured_ones(
    api: httpx.Client, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    response = start(api, account, node("img", "image.generate", prompt="x", model="openai/gpt-image-9"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["model"] == "openai/gpt-image-9"
    assert "openai/gpt-image-9" in error["message"]
    assert "openai/gpt-image-1" in error["configured"]
    assert fake[0].requests() == []


def test_inputs_a_model_cannot_take_are_refused_with_422_before_anything_is_sent(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    picture = upload(api, account, Image.new("RGB", (64, 64), (200, 0, 0)))
    ref = {"type": "image", "file_id": picture}
    cases = [
        (node("g", "image.generate", prompt="x", model="openai/dall-e-2", reference_images=[ref]), "reference_images"),
        (node("g", "image.generate", prompt="x", model="openai/dall-e-3", n=2), "n"),
        (node("e", "image.inpaint", image=ref, mask=ref, prompt="x", model="openai/dall-e-3"), "model"),
        (node("g", "image.generate", prompt="x" * 1001, model="openai/dall-e-2"), "prompt"),
    ]
    for graph_node, field in cases:
        response = start(api, account, graph_node)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", field), error
    assert fake[0].requests() == []
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 100


def test_inpaint_with_dall_e_2_sends_one_image_and_the_mask_as_multipart(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 100)
    source = upload(api, account, Image.new("RGB", (512, 512), (200, 0, 0)))
    mask = Image.new("L", (512, 512), 0)
    mask.paste(255, (0, 0, 256, 512))  # repaint the left half
    mask_id = upload(api, account, mask)
    run = run_to_end(
        api,
        account,
        node(
            "p",
            "image.inpaint",
            image={"type": "image", "file_id": source},
            mask={"type": "image", "file_id": mask_id},
            prompt="a window",
            model="openai/dall-e-2",
        ),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/edits")
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form == {
        "model": "dall-e-2",
        "prompt": "a window",
        "n": "1",
        "size": "512x512",
        "response_format": "b64_json",
    }
    assert [name for name, _ in sent.files] == ["image", "mask"]
    sent_mask = Image.open(io.BytesIO(sent.files[1][1]))
    assert sent_mask.mode == "RGBA"
    assert sent_mask.size == (512, 512)
    assert sent_mask.getpixel((10, 10)) == (0, 0, 0, 0)  # transparent where pixelmill's mask is white: edit
    assert sent_mask.getpixel((400, 10)) == (0, 0, 0, 255)
    assert output_image(api, account, run, "p").size == (512, 512)


def test_gpt_image_references_go_to_edits_as_image_brackets(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 100)
    refs = [
        {"type": "image", "file_id": upload(api, account, Image.new("RGB", (64, 64), c))}
        for c in ((1, 2, 3), (4, 5, 6))
    ]
    run = run_to_end(
        api,
        account,
        node("g", "image.generate", prompt="both together", model="openai/gpt-image-1", reference_images=refs),
    )
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/edits")
    assert "response_format" not in sent.form
    assert [name for name, _ in sent.files] == ["image[]", "image[]"]
    assert [Image.open(io.BytesIO(data)).getpixel((0, 0)) for _, data in sent.files] == [(1, 2, 3), (4, 5, 6)]


def test_an_upstream_500_after_the_retries_is_upstream_unavailable(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    for _ in range(5):
        server.fail_next(500, error_body("The server had an error", "server_error", None), {"retry-after-ms": "10"})
    run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="openai/gpt-image-1"))
    assert run["status"] == "failed"
    assert node_error(run, "img")["code"] == "UPSTREAM_UNAVAILABLE"
    assert len(server.requests()) == 5  # the first call and upstream_max_retries (4) retries
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


@pytest.mark.postgres
def test_the_happy_path_on_postgresql(
    tmp_path: Path, postgres_template: PostgresTemplate, fake: tuple[FakeOpenAI, str]
) -> None:
    from tests.support.accounts import seed_account
    from tests.support.server import start_server

    settings = openai_settings(tmp_path, postgres_template.fresh(), fake[1])
    account = seed_account(settings.resolved_database_url)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 10)
            run = run_to_end(api, account, node("img", "image.generate", prompt="pg", model="openai/gpt-image-1"))
            assert run["status"] == "completed", run
            assert output_image(api, account, run, "img").convert("RGB").getpixel((0, 0)) == COLOUR
            assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 5
            assert run["nodes"][0]["usage"]["total_tokens"] == 4210
    finally:
        live.stop()


def test_a_test_key_cannot_use_openai_models_and_nothing_is_sent(
    api: httpx.Client, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    from tests.support.accounts import seed_account

    tester = seed_account(settings.resolved_database_url, mode="test")
    graph = {"nodes": [node("img", "image.generate", prompt="x", model="openai/gpt-image-1")], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=tester.headers)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "SANDBOX_ONLY"
    assert fake[0].requests() == []


def test_the_operators_price_for_a_model_is_listed_held_and_charged_per_image(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str], account: SeededAccount
) -> None:
    from tests.support.server import start_server

    prices = {"openai/gpt-image-1": 20, "openai/dall-e-2": 2}
    settings = openai_settings(tmp_path, database_url, fake[1], model_credit_costs=prices)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 100)
            listed = {m["id"]: m["cost"] for m in api.get("/v1/models", headers=account.headers).json()["data"]}
            run = run_to_end(api, account, node("g", "image.generate", prompt="x", model="openai/gpt-image-1", n=2))
            cheap = run_to_end(api, account, node("g", "image.generate", prompt="x", model="openai/dall-e-2"))
            unpriced = run_to_end(api, account, node("g", "image.generate", prompt="x", model="openai/dall-e-3"))
            balance = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    finally:
        live.stop()
    assert (listed["openai/gpt-image-1"], listed["openai/dall-e-2"], listed["openai/dall-e-3"]) == (20, 2, 5)
    assert run["status"] == cheap["status"] == unpriced["status"] == "completed"
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 40), ("capture", 40)]
    assert run_entries(settings.resolved_database_url, cheap["run_id"]) == [("hold", 2), ("capture", 2)]
    assert balance == 100 - 40 - 2 - 5
