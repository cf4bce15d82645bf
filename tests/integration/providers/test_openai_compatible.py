"""``openai-compatible/*`` models against the fake OpenAI API playing an Ollama-like server on
loopback (no key, its own model names): discovery through ``GET /models``, text through streamed
chat completions and marked image models through ``/images/generations``, over the served app."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextProvider, TextToImageProvider, UpstreamProvider
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.openai_compatible import OpenAICompatibleProvider
from tests.support.accounts import SeededAccount
from tests.support.fake_openai import COLOUR, FakeOpenAI, serve_fake_openai
from tests.support.runs import grant, node, run_entries, wait_for
from tests.support.upstream_settings import served_settings

OLLAMA_MODELS = ("llama3.2:1b", "qwen2.5:0.5b", "tiny-sd")
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
def ollama() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(None, OLLAMA_MODELS) as (fake, base_url):
        fake.snapshot = ""  # an Ollama answers with the model's own name
        yield fake, base_url


def compatible_settings(tmp_path: Path, database_url: str, base_url: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "openai_compatible_url": base_url,
        "openai_compatible_image_models": ["tiny-sd"],
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, ollama: tuple[FakeOpenAI, str]) -> Settings:
    return compatible_settings(tmp_path, database_url, ollama[1])


def run_to_end(api: httpx.Client, account: SeededAccount, *nodes: dict[str, Any]) -> dict[str, Any]:
    headers = {**account.headers, "Prefer": "wait=20"}
    response = api.post("/v1/runs", json={"graph": {"nodes": list(nodes), "edges": []}}, headers=headers)
    assert response.status_code == 201, response.text
    return wait_for(api, account.headers, response.json()["run_id"], until=TERMINAL, timeout=30)


def test_the_servers_models_are_discovered_text_by_default_and_images_where_marked(
    api: httpx.Client, account: SeededAccount, ollama: tuple[FakeOpenAI, str]
) -> None:
    listed = {m["id"]: m for m in api.get("/v1/models", headers=account.headers).json()["data"]}
    ours = {model_id: m for model_id, m in listed.items() if m["provider"] == "openai-compatible"}
    assert set(ours) == {f"openai-compatible/{name}" for name in OLLAMA_MODELS}
    assert ours["openai-compatible/llama3.2:1b"]["generation_type"] == "text"
    assert ours["openai-compatible/qwen2.5:0.5b"]["capabilities"] == ["text"]
    image = ours["openai-compatible/tiny-sd"]
    assert (image["generation_type"], image["capabilities"], image["cost"]) == ("image", ["text-to-image"], 5)
    assert not any(m["sandbox"] for m in ours.values())
    asked = ollama[0].requests("/v1/models")
    assert asked, "the server's model list was asked for"
    assert all("authorization" not in received.headers for received in asked)


def test_text_generate_runs_on_the_server_without_a_key(
    api: httpx.Client, account: SeededAccount, settings: Settings, ollama: tuple[FakeOpenAI, str]
) -> None:
    server, _ = ollama
    grant(settings.resolved_database_url, account.workspace_id, 10)
    graph_node = node(
        "t", "text.generate", prompt="Name a colour", model="openai-compatible/llama3.2:1b", max_tokens=3, seed=5
    )
    run = run_to_end(api, account, graph_node)
    assert run["status"] == "completed", run
    assert run["outputs"]["t"]["value"] == "You said: Name"  # cut at max_tokens, a word a token in the fake
    (sent,) = server.requests("/v1/chat/completions")
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "llama3.2:1b",
        "messages": [{"role": "user", "content": "Name a colour"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.7,
        "seed": 5,
        "max_tokens": 3,
    }
    assert run["nodes"][0]["usage"] == {
        "provider": "openai-compatible",
        "model": "llama3.2:1b",
        "prompt_tokens": 3,
        "completion_tokens": 3,
        "total_tokens": 6,
    }
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 2), ("capture", 2)]


def test_a_server_that_ignores_stream_and_answers_one_completion_is_read_whole(
    api: httpx.Client, account: SeededAccount, settings: Settings, ollama: tuple[FakeOpenAI, str]
) -> None:
    server, _ = ollama
    server.ignore_stream = True
    grant(settings.resolved_database_url, account.workspace_id, 10)
    run = run_to_end(
        api, account, node("t", "text.generate", prompt="Hi there", model="openai-compatible/qwen2.5:0.5b")
    )
    assert run["status"] == "completed", run
    assert run["outputs"]["t"]["value"] == "You said: Hi there"
    (sent,) = server.requests("/v1/chat/completions")
    assert sent.json is not None
    assert sent.json["stream"] is True
    assert run["nodes"][0]["usage"] == {
        "provider": "openai-compatible",
        "model": "qwen2.5:0.5b",
        "prompt_tokens": 2,
        "completion_tokens": 4,
        "total_tokens": 6,
    }


def test_a_marked_image_model_draws_through_images_generations(
    api: httpx.Client, account: SeededAccount, settings: Settings, ollama: tuple[FakeOpenAI, str]
) -> None:
    server, _ = ollama
    grant(settings.resolved_database_url, account.workspace_id, 10)
    graph_node = node("i", "image.generate", prompt="a red kite", model="openai-compatible/tiny-sd", size="512x512")
    run = run_to_end(api, account, graph_node)
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/generations")
    assert sent.json == {
        "model": "tiny-sd",
        "prompt": "a red kite",
        "n": 1,
        "size": "512x512",
        "response_format": "b64_json",
    }
    response = api.get(run["outputs"]["i"]["value"][0])
    picture = Image.open(io.BytesIO(response.content))
    assert (picture.size, picture.convert("RGB").getpixel((5, 5))) == ((512, 512), COLOUR)
    assert run["nodes"][0]["usage"]["provider"] == "openai-compatible"


def test_named_models_skip_discovery_and_a_key_is_sent_when_set(tmp_path: Path, database_url: str) -> None:
    key = "vllm-secret-0123456789abcdefTAIL"
    with serve_fake_openai(key, ("served-model",)) as (server, base_url):
        settings = compatible_settings(
            tmp_path,
            database_url,
            base_url,
            openai_compatible_api_key=key,
            openai_compatible_models=["served-model"],
            openai_compatible_image_models=[],
        )
        registry = build_provider_registry(settings)
        ids = [m.id for m in registry.models() if m.provider == "openai-compatible"]
        provider = registry.text("openai-compatible/served-model")

        async def generate() -> str:
            try:
                return await provider.generate("openai-compatible/served-model", "hello", "", 8, 0.0, 1)
            finally:
                await registry.aclose()

        text = asyncio.run(generate())
        assert server.requests("/v1/models") == []
        (sent,) = server.requests("/v1/chat/completions")
    assert ids == ["openai-compatible/served-model"]
    assert text == "You said: hello"
    assert sent.headers["authorization"] == f"Bearer {key}"


def test_a_key_is_checked_against_the_models_route_and_a_refused_one_is_auth_failed() -> None:
    good, wrong = "vllm-good-0123456789abcdefGOOD", "vllm-wrong-0123456789abcdefWRONG"
    with serve_fake_openai(good, ("m",)) as (server, base_url):
        settings = Settings(openai_compatible_url=base_url, openai_compatible_models=["m"])
        keyless = OpenAICompatibleProvider.from_settings(settings)
        assert isinstance(keyless, UpstreamProvider)
        assert isinstance(keyless, TextProvider)
        assert isinstance(keyless, TextToImageProvider)
        assert keyless.key_env == ""
        operator = keyless.with_key(good)
        workspace = keyless.with_key(wrong)

        async def check() -> PixelmillError:
            try:
                await operator.check_key()
                with pytest.raises(PixelmillError) as refused:
                    await workspace.check_key()
                return refused.value
            finally:
                for adapter in (keyless, operator, workspace):
                    await adapter.aclose()

        error = asyncio.run(check())
        sent = [received.headers.get("authorization") for received in server.requests("/v1/models")]
    assert error.code == errors.UPSTREAM_AUTH_FAILED.code
    assert wrong not in str(error)
    assert sent == [f"Bearer {good}", f"Bearer {wrong}"]
    assert operator.models() == keyless.models()


def test_an_unreachable_server_lists_no_models_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    provider = OpenAICompatibleProvider.from_settings(Settings(openai_compatible_url="http://127.0.0.1:9/v1"))
    assert provider.is_configured()
    assert provider.models() == []
    assert "could not list the server's models" in caplog.text


def test_without_a_url_nothing_is_listed(tmp_path: Path) -> None:
    provider = OpenAICompatibleProvider.from_settings(Settings(data_dir=tmp_path))
    assert not provider.is_configured()
    registry = build_provider_registry(Settings(data_dir=tmp_path))
    assert not any(m.provider == "openai-compatible" for m in registry.models())
