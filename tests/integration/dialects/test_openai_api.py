"""The official ``openai`` Python SDK against pixelmill served on loopback (SQLite and PostgreSQL):
images, edits, variations, chat, speech and models with nothing changed but the base URL and the key,
every answer decoded, and each request shown to be a canonical run (listed, charged)."""

from __future__ import annotations

import base64
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from openai import AuthenticationError, BadRequestError, ConflictError, NotFoundError, OpenAI, RateLimitError
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer
from tests.support.sse import parse_frames

TINY_QUOTA = 3  # requests per minute of the "tiny" plan these tests add
IMAGES_RESPONSE_KEYS = {"created", "data", "usage", "background", "output_format", "quality", "size"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    plans = unthrottled_plans()
    plans["tiny"] = plans["free"].model_copy(update={"requests_per_minute": TINY_QUOTA})
    return settings.model_copy(update={"plans": plans, "dispatch_poll_seconds": 0.2})


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings.resolved_database_url, account.workspace_id, 1000)
    return account


@pytest.fixture
def client(live_server: LiveServer, funded: SeededAccount) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{live_server.url}/v1", api_key=funded.key, max_retries=0, timeout=120) as sdk:
        yield sdk


def decode(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def png(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def photo(size: tuple[int, int] = (96, 64), seed: int = 1) -> bytes:
    """A noisy picture, so a restyle visibly changes its pixels."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def runs_of(api: httpx.Client, account: SeededAccount) -> list[dict[str, Any]]:
    listed = api.get("/v1/runs", headers=account.headers, params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


def test_generate_two_images_at_a_size_as_base64(client: OpenAI, api: httpx.Client, funded: SeededAccount) -> None:
    raw = client.images.with_raw_response.generate(
        model="local/procedural", prompt="a lighthouse at dusk", n=2, size="320x192", user="u-1"
    )
    body = raw.http_response.json()
    assert set(body) == IMAGES_RESPONSE_KEYS
    assert (body["background"], body["output_format"], body["quality"], body["size"]) == (
        "opaque",
        "png",
        "high",
        "320x192",
    )
    assert raw.headers["x-request-id"]
    assert int(raw.headers["x-ratelimit-limit-requests"]) == 100_000
    assert int(raw.headers["x-ratelimit-remaining-requests"]) < 100_000
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    result = raw.parse()
    assert result.data is not None
    assert len(result.data) == 2
    pictures = [decode(base64.b64decode(item.b64_json or "")) for item in result.data]
    assert [(p.format, p.size) for p in pictures] == [("PNG", (320, 192))] * 2
    assert pictures[0].tobytes() != pictures[1].tobytes()  # n=2 is two images, not one twice
    # The request was a canonical run: listed, graph kind, its credits spent from the wallet.
    (run,) = runs_of(api, funded)
    assert run["status"] == "completed"
    assert run["credits_used"] > 0
    assert run["metadata"]["dialect"] == {
        "name": "openai",
        "endpoint": "images.generate",
        "model": "local/procedural",
        "user": "u-1",
    }
    wallet = api.get("/v1/credits/wallet", headers=funded.headers).json()
    assert wallet["balance"] == 1000 - run["credits_used"]
    with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=funded.headers) as events:
        names = [frame.event for frame in parse_frames(events.iter_lines()) if frame.event]
    assert names[0] == "run_queued"
    assert names[-1] == "run_complete"


def test_generate_as_url_jpeg_and_auto_size(client: OpenAI, live_server: LiveServer) -> None:
    result = client.images.generate(
        model="local/procedural",
        prompt="a red kite",
        response_format="url",
        output_format="jpeg",
        output_compression=60,
        quality="low",
    )
    assert result.data is not None
    assert result.data[0].url is not None
    assert result.data[0].url.startswith(live_server.url)
    assert "sig=" in result.data[0].url
    downloaded = httpx.get(result.data[0].url)  # a signed link: no credential needed
    assert downloaded.status_code == 200
    picture = decode(downloaded.content)
    assert (picture.format, picture.size) == ("JPEG", (512, 512))  # quality low draws 512 on the long side
    assert (result.output_format, result.quality, result.size) == ("jpeg", "low", "512x512")


def test_a_streamed_generation_ends_with_completed_events(client: OpenAI) -> None:
    stream = client.images.generate(
        model="local/procedural", prompt="a blue whale", n=2, size="128x128", stream=True, partial_images=2
    )
    events = list(stream)
    # A local model draws in one step, so it reports no partial image: two completed events only.
    assert [event.type for event in events] == ["image_generation.completed"] * 2
    for event in events:
        assert decode(base64.b64decode(event.b64_json)).size == (128, 128)


def test_edit_with_a_mask_changes_only_the_transparent_area(client: OpenAI) -> None:
    source = photo((96, 64))
    mask = Image.new("RGBA", (96, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 48, 64))  # the left half transparent: edit there only
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    result = client.images.edit(
        image=("photo.png", source, "image/png"),
        mask=("mask.png", buffer.getvalue(), "image/png"),
        prompt="as a pencil sketch",
    )
    assert result.data is not None
    assert len(result.data) == 1
    edited = np.asarray(decode(base64.b64decode(result.data[0].b64_json or "")).convert("RGB")).astype(int)
    original = np.asarray(decode(source).convert("RGB")).astype(int)
    assert edited.shape == original.shape
    assert np.array_equal(edited[:, 48:], original[:, 48:])
    assert np.abs(edited[:, :48] - original[:, :48]).mean() > 10


def test_edit_of_several_images_lays_them_out_together(
    client: OpenAI, api: httpx.Client, funded: SeededAccount
) -> None:
    images = [("a.png", photo((64, 64), 1), "image/png"), ("b.png", photo((64, 64), 2), "image/png")]
    result = client.images.edit(image=images, prompt="watercolor of both", n=2)
    assert result.data is not None
    assert len(result.data) == 2
    sheets = [decode(base64.b64decode(item.b64_json or "")) for item in result.data]
    assert all(sheet.width > 1.5 * sheet.height for sheet in sheets)  # two images side by side
    (run,) = runs_of(api, funded)
    assert [node["type"] for node in run["nodes"]] == ["image.grid", "image.style", "image.style"]


def test_variations_restyle_the_image_n_times(client: OpenAI) -> None:
    with pytest.warns(
        DeprecationWarning, match="deprecated"
    ):  # the SDK marks variations deprecated, and still sends them
        result = client.images.create_variation(image=("photo.png", photo((80, 60)), "image/png"), n=3)
    assert result.data is not None
    assert len(result.data) == 3
    variants = [decode(base64.b64decode(item.b64_json or "")) for item in result.data]
    assert {variant.size for variant in variants} == {(80, 60)}
    assert len({variant.tobytes() for variant in variants}) == 3


def test_chat_completion_plain_and_streamed_say_the_same(client: OpenAI) -> None:
    messages: Any = [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": [{"type": "text", "text": "What colour is the sky?"}]},
    ]
    plain = client.chat.completions.create(
        model="local/smollm2", messages=messages, max_tokens=24, temperature=0, seed=7
    )
    text = plain.choices[0].message.content
    assert text
    assert plain.choices[0].finish_reason in ("stop", "length")
    assert plain.usage is not None
    assert 0 < plain.usage.completion_tokens <= 24
    assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens
    stream = client.chat.completions.create(
        model="local/smollm2",
        messages=messages,
        max_completion_tokens=24,
        temperature=0,
        seed=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert streamed == text
    assert chunks[-1].choices == []
    assert chunks[-1].usage == plain.usage
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == plain.choices[0].finish_reason


def test_speech_writes_a_file_that_decodes(client: OpenAI, tmp_path: Path) -> None:
    target = tmp_path / "speech.mp3"
    with client.audio.speech.with_streaming_response.create(
        model="local/espeak", voice="alloy", input="Hello from pixelmill.", response_format="mp3", speed=1.25
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        response.stream_to_file(target)
    with av.open(str(target)) as container:
        (stream,) = container.streams.audio
        assert stream.codec_context.name.startswith("mp3")
        frames = sum(frame.samples for frame in container.decode(stream))
    assert frames > 0.3 * stream.codec_context.sample_rate  # some speech, not a click
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probed.stdout.strip() == "mp3"


def test_models_list_and_retrieve(client: OpenAI) -> None:
    listed = {model.id: model for model in client.models.list()}
    assert {"local/procedural", "local/cv", "local/smollm2", "local/espeak"} <= set(listed)
    entry = listed["local/procedural"]
    assert (entry.object, entry.owned_by) == ("model", "local")
    assert entry.created > 0
    retrieved = client.models.retrieve("local/smollm2")
    assert (retrieved.id, retrieved.owned_by) == ("local/smollm2", "local")
    assert retrieved.model_extra is not None
    assert retrieved.model_extra["generation_type"] == "text"


def test_each_documented_failure_raises_its_sdk_error(
    client: OpenAI, live_server: LiveServer, api: httpx.Client, funded: SeededAccount, settings: Settings
) -> None:
    with pytest.raises(BadRequestError) as bad:
        client.images.generate(model="local/procedural", prompt="x", size="huge")
    assert bad.value.param == "size"
    assert bad.value.type == "invalid_request_error"
    assert bad.value.response.headers["x-request-id"]
    with pytest.raises(BadRequestError) as too_many:
        client.images.generate(model="local/procedural", prompt="x", n=9)
    assert too_many.value.param == "n"
    with pytest.raises(NotFoundError) as missing:
        client.images.generate(model="no-such-model", prompt="x")
    assert missing.value.param == "model"
    assert missing.value.code == "model_not_found"
    with pytest.raises(NotFoundError):
        client.models.retrieve("local/no-such-model")
    with (
        OpenAI(base_url=f"{live_server.url}/v1", api_key="pm_live_wrong", max_retries=0) as stranger,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        stranger.chat.completions.create(model="local/smollm2", messages=[{"role": "user", "content": "hi"}])
    assert unauthenticated.value.code == "invalid_api_key"
    broke = seed_account(settings.resolved_database_url)
    with (
        OpenAI(base_url=f"{live_server.url}/v1", api_key=broke.key, max_retries=0) as poor,
        pytest.raises(RateLimitError) as quota,
    ):
        poor.images.generate(model="local/procedural", prompt="x")
    assert (quota.value.code, quota.value.type) == ("insufficient_quota", "insufficient_quota")
    assert runs_of(api, broke) == []  # refused before anything was queued
    assert runs_of(api, funded) == []


def test_rate_limit_exceeded_is_a_rate_limit_error(live_server: LiveServer, settings: Settings) -> None:
    limited = seed_account(settings.resolved_database_url, plan="tiny")
    with OpenAI(base_url=f"{live_server.url}/v1", api_key=limited.key, max_retries=0) as sdk:
        for _ in range(TINY_QUOTA):
            with pytest.raises(BadRequestError):
                sdk.images.generate(model="local/procedural", prompt="x", size="huge")
        with pytest.raises(RateLimitError) as limited_error:
            sdk.images.generate(model="local/procedural", prompt="x", size="huge")
    assert limited_error.value.code == "rate_limit_exceeded"
    assert limited_error.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(limited_error.value.response.headers["retry-after"]) >= 1


def test_an_idempotency_key_answers_a_retry_with_the_same_images(
    client: OpenAI, api: httpx.Client, funded: SeededAccount
) -> None:
    headers = {"Idempotency-Key": "openai-retry-1"}
    first = client.images.generate(model="local/procedural", prompt="a fox", size="64x64", extra_headers=headers)
    again = client.images.with_raw_response.generate(
        model="local/procedural", prompt="a fox", size="64x64", extra_headers=headers
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parse().data == first.data
    assert len(runs_of(api, funded)) == 1


def test_what_the_edge_refuses_under_these_paths_answers_in_openais_envelope(
    client: OpenAI, api: httpx.Client, funded: SeededAccount, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "openai-conflict-1"}
    client.images.generate(model="local/procedural", prompt="a fox", size="64x64", extra_headers=headers)
    with pytest.raises(ConflictError) as conflict:
        client.images.generate(model="local/procedural", prompt="a wolf", size="64x64", extra_headers=headers)
    assert conflict.value.code == "idempotency_key_reused"
    too_big = api.post(
        "/v1/chat/completions",
        content=b"x" * (settings.max_request_bytes + 1),
        headers={**funded.headers, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 400
    assert set(too_big.json()["error"]) == {"message", "type", "param", "code"}
    assert too_big.json()["error"]["code"] == "payload_too_large"
