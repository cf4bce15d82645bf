"""The OpenAI API in front of an upstream model: the ``openai`` SDK asks for ``gpt-image-1``, an
operator alias for ``openai/gpt-image-1`` served by the fake OpenAI API on loopback. Streamed partial
images, edits with a mask and with several images, and a request cancelled through ``/v1/runs``."""

from __future__ import annotations

import base64
import io
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import ConflictError, OpenAI
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI
from tests.support.runs import grant
from tests.support.server import LiveServer
from tests.support.upstream_settings import served_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return served_settings(
        tmp_path,
        database_url,
        openai_api_key=FAKE_OPENAI_KEY,
        openai_base_url=fake[1],
        openai_partial_images=2,
        model_aliases={"gpt-image-1": "openai/gpt-image-1"},
    )


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[OpenAI]:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    with OpenAI(base_url=f"{live_server.url}/v1", api_key=account.key, max_retries=0, timeout=60) as sdk:
        yield sdk


def png(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(b64: str | None) -> Image.Image:
    picture = Image.open(io.BytesIO(base64.b64decode(b64 or "")))
    picture.load()
    return picture


def test_a_streamed_generation_sends_the_upstreams_partial_images(client: OpenAI, fake: tuple[FakeOpenAI, str]) -> None:
    events = list(client.images.generate(model="gpt-image-1", prompt="a boat", stream=True, partial_images=2))
    kinds = [event.type for event in events]
    assert kinds[-1] == "image_generation.completed"
    partials = [event for event in events if event.type == "image_generation.partial_image"]
    assert 1 <= len(partials) <= 2  # the progress throttle may merge two frames
    assert [event.partial_image_index for event in partials] == list(range(len(partials)))
    assert decode(partials[0].b64_json).format == "JPEG"
    assert decode(events[-1].b64_json).size == (1024, 1024)
    (sent,) = fake[0].requests("/v1/images/generations")
    assert sent.json is not None
    assert (sent.json["model"], sent.json["stream"]) == ("gpt-image-1", True)


def test_an_edit_with_a_mask_inpaints_upstream_with_openais_mask(client: OpenAI, fake: tuple[FakeOpenAI, str]) -> None:
    mask = Image.new("RGBA", (512, 512), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))  # edit the left half
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    result = client.images.edit(
        model="gpt-image-1",
        image=("room.png", png((512, 512), (200, 0, 0)), "image/png"),
        mask=("mask.png", buffer.getvalue(), "image/png"),
        prompt="a window",
    )
    assert result.data is not None
    assert decode(result.data[0].b64_json).size[0] > 0
    (sent,) = fake[0].requests("/v1/images/edits")
    assert [name for name, _ in sent.files] == ["image", "mask"]
    sent_mask = Image.open(io.BytesIO(sent.files[1][1]))
    assert sent_mask.getchannel("A").getpixel((10, 10)) == 0  # the same area is edited upstream
    assert sent_mask.getchannel("A").getpixel((500, 10)) == 255


def test_an_edit_of_several_images_sends_them_all(client: OpenAI, fake: tuple[FakeOpenAI, str]) -> None:
    images = [
        ("a.png", png((64, 64), (1, 2, 3)), "image/png"),
        ("b.png", png((64, 64), (4, 5, 6)), "image/png"),
    ]
    result = client.images.edit(model="gpt-image-1", image=images, prompt="both in one picture")
    assert result.data is not None
    assert len(result.data) == 1
    (sent,) = fake[0].requests("/v1/images/edits")
    assert [name for name, _ in sent.files] == ["image[]", "image[]"]
    colours = [Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0)) for _, data in sent.files]
    assert colours == [(1, 2, 3), (4, 5, 6)]


def test_a_request_cancelled_through_the_runs_api_answers_conflict(
    client: OpenAI, api: httpx.Client, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    fake[0].latency = 3.0
    raised: list[BaseException] = []

    def generate() -> None:
        try:
            client.images.generate(model="gpt-image-1", prompt="a slow boat")
        except BaseException as exc:  # handed to the test thread
            raised.append(exc)

    worker = threading.Thread(target=generate)
    worker.start()
    run: dict[str, Any] | None = None
    deadline = time.monotonic() + 10
    while run is None and time.monotonic() < deadline:
        listed = api.get("/v1/runs", headers=account.headers).json()["data"]
        run = listed[0] if listed else None
        time.sleep(0.05)
    assert run is not None
    cancelled = api.post(f"/v1/runs/{run['run_id']}/cancel", headers=account.headers)
    assert cancelled.status_code == 200, cancelled.text
    worker.join(30)
    (error,) = raised
    assert isinstance(error, ConflictError)
    assert run["run_id"] in error.message
    final = api.get(f"/v1/runs/{run['run_id']}", headers=account.headers).json()
    assert final["status"] == "cancelled"


def test_chat_and_speech_on_upstream_models_pass_through(
    client: OpenAI, fake: tuple[FakeOpenAI, str], tmp_path: Path
) -> None:
    completion = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello there"}],
        max_completion_tokens=40,
    )
    assert completion.choices[0].message.content == "You said: hello there"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    (sent,) = fake[0].requests("/v1/chat/completions")
    assert sent.json is not None
    assert sent.json["messages"][0] == {"role": "system", "content": "Be kind."}
    target = tmp_path / "speech.wav"
    client.audio.speech.create(
        model="openai/tts-1", voice="nova", input="Hi there.", response_format="wav"
    ).write_to_file(target)
    with wave.open(str(target)) as audio:
        assert audio.getnframes() > 0
    (spoken,) = fake[0].requests("/v1/audio/speech")
    assert spoken.json is not None
    assert (spoken.json["model"], spoken.json["voice"], spoken.json["response_format"]) == ("tts-1", "nova", "wav")
