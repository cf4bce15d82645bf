"""Chat completions with image parts, through the official ``openai`` SDK against the app on loopback:
a data-URL image and an http URL image (served by a loopback file host) reach the fake OpenAI
upstream as ``image_url`` parts of the user's message, carrying the bytes the server stored; an
OpenAI-compatible model marked as reading images gets them too; a private URL is refused when the
operator does not allow private URLs; a text-only model answers 400 naming the part; and a streamed
completion with an image part."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import BadRequestError, OpenAI
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.fake_cdn import FakeCdn, serve_fake_cdn
from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI
from tests.support.runs import grant, run_row
from tests.support.server import LiveServer, start_server
from tests.support.upstream_settings import served_settings


@pytest.fixture
def cdn() -> Iterator[FakeCdn]:
    with serve_fake_cdn("vision-cdn") as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return served_settings(
        tmp_path,
        database_url,
        openai_api_key=FAKE_OPENAI_KEY,
        openai_base_url=fake[1],
        openai_compatible_url=fake[1],
        openai_compatible_api_key=FAKE_OPENAI_KEY,
        openai_compatible_models=["llava", "llama3.2"],
        openai_compatible_vision_models=["llava"],
    )


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[OpenAI]:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    with OpenAI(base_url=f"{live_server.url}/v1", api_key=account.key, max_retries=0, timeout=60) as sdk:
        yield sdk


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def asking(*images: dict[str, Any]) -> list[Any]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *images]}]


def image_part(url: str, detail: str | None = None) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **({"detail": detail} if detail else {})}}


def sent_parts(fake: FakeOpenAI) -> list[dict[str, Any]]:
    (sent,) = fake.requests("/v1/chat/completions")
    assert sent.json is not None
    content = sent.json["messages"][-1]["content"]
    assert isinstance(content, list)
    return content


def sent_bytes(part: dict[str, Any]) -> tuple[str, bytes]:
    url = part["image_url"]["url"]
    header, payload = url.split(",", 1)
    return header, base64.b64decode(payload)


def test_a_data_url_image_reaches_the_upstream_as_an_image_url_part(
    client: OpenAI, fake: tuple[FakeOpenAI, str], api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    picture = png((40, 30), (200, 30, 30))
    completion = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=asking(image_part(data_url(picture), "high")), max_completion_tokens=40
    )
    assert completion.choices[0].message.content == "You said: What is this? <image 40x30>"
    text, image = sent_parts(fake[0])
    assert text == {"type": "text", "text": "What is this?"}
    assert (image["type"], image["image_url"]["detail"]) == ("image_url", "high")
    assert sent_bytes(image) == ("data:image/png;base64", picture)
    # The image is a stored file of the run's workspace: the run reads it again from storage.
    graph = run_row(settings.resolved_database_url, completion.id).graph
    (stored,) = graph["nodes"][0]["inputs"]["images"]
    assert api.get(f"/v1/files/{stored['file_id']}/content", headers=account.headers).content == picture


def test_an_http_url_image_is_fetched_by_the_server_and_sent_as_its_bytes(
    client: OpenAI, fake: tuple[FakeOpenAI, str], cdn: FakeCdn
) -> None:
    url = cdn.put_image("cat.jpg", (64, 48), (10, 160, 90), "jpg")
    completion = client.chat.completions.create(
        model="openai/gpt-4o", messages=asking(image_part(url, "low")), max_completion_tokens=40
    )
    assert completion.choices[0].message.content == "You said: What is this? <image 64x48>"
    assert [request.path for request in cdn.received] == ["cat.jpg"]
    (_text, image) = sent_parts(fake[0])
    assert image["image_url"]["detail"] == "low"
    # Never the client's URL: the bytes the server fetched and stored.
    assert sent_bytes(image) == ("data:image/jpeg;base64", cdn.files["cat.jpg"][0])


def test_an_openai_compatible_model_marked_as_reading_images_gets_them(
    client: OpenAI, fake: tuple[FakeOpenAI, str]
) -> None:
    picture = png((16, 16), (0, 0, 255))
    completion = client.chat.completions.create(
        model="openai-compatible/llava", messages=asking(image_part(data_url(picture)), image_part(data_url(picture)))
    )
    assert completion.choices[0].message.content == "You said: What is this? <image 16x16> <image 16x16>"
    _text, *images = sent_parts(fake[0])
    assert [sent_bytes(part)[1] for part in images] == [picture, picture]
    assert all("detail" not in part["image_url"] for part in images)
    with pytest.raises(BadRequestError) as refused:
        client.chat.completions.create(
            model="openai-compatible/llama3.2", messages=asking(image_part(data_url(picture)))
        )
    assert refused.value.param == "messages[0].content[1]"
    assert "openai-compatible/llava" in refused.value.message


def test_a_text_only_model_refuses_an_image_part_naming_it_and_the_models_that_read_images(
    client: OpenAI, fake: tuple[FakeOpenAI, str], cdn: FakeCdn
) -> None:
    url = cdn.put_image("dog.png", (8, 8), (1, 2, 3), "png")
    for model in ("local/smollm2", "openai-compatible/llama3.2"):
        with pytest.raises(BadRequestError) as refused:
            client.chat.completions.create(model=model, messages=asking(image_part(url)))
        error = refused.value
        assert (error.status_code, error.param, error.type) == (400, "messages[0].content[1]", "invalid_request_error")
        assert f"{model} reads text only" in error.message
        assert "openai/gpt-4o" in error.message
    assert cdn.received == []  # refused before anything was fetched
    assert fake[0].requests("/v1/chat/completions") == []


def test_a_private_url_is_refused_when_private_urls_are_not_allowed(
    settings: Settings, account: SeededAccount, fake: tuple[FakeOpenAI, str], cdn: FakeCdn
) -> None:
    url = cdn.put_image("inside.png", (8, 8), (1, 2, 3), "png")
    server = start_server(settings.model_copy(update={"allow_private_urls": False}))
    try:
        with (
            OpenAI(base_url=f"{server.url}/v1", api_key=account.key, max_retries=0, timeout=60) as sdk,
            pytest.raises(BadRequestError) as refused,
        ):
            sdk.chat.completions.create(model="openai/gpt-4o", messages=asking(image_part(url)))
    finally:
        server.stop()
    assert refused.value.param == "messages[0].content[1]"
    assert refused.value.code == "url_not_allowed"
    assert cdn.received == []
    assert fake[0].requests("/v1/chat/completions") == []


def test_a_streamed_completion_with_an_image_part(client: OpenAI, fake: tuple[FakeOpenAI, str]) -> None:
    picture = png((24, 12), (250, 250, 0))
    stream = client.chat.completions.create(
        model="openai/gpt-4.1-mini",
        messages=asking(image_part(data_url(picture))),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "You said: What is this? <image 24x12>"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens > 0
    (_text, image) = sent_parts(fake[0])
    assert sent_bytes(image)[1] == picture


def test_an_image_over_max_edit_pixels_or_a_url_that_is_no_image_is_400_naming_the_part(
    client: OpenAI, fake: tuple[FakeOpenAI, str], cdn: FakeCdn, settings: Settings
) -> None:
    side = int(settings.max_edit_pixels**0.5) + 1
    huge = png((side, side), (0, 0, 0))
    with pytest.raises(BadRequestError) as too_large:
        client.chat.completions.create(model="openai/gpt-4o", messages=asking(image_part(data_url(huge))))
    assert (too_large.value.param, too_large.value.code) == ("messages[0].content[1]", "image_too_large")
    page = cdn.put("page.html", b"<html>not an image</html>", "text/html")
    missing = f"{cdn.origin}/missing.png"
    for url, code in ((page, "invalid_image_format"), (missing, "fetch_failed")):
        with pytest.raises(BadRequestError) as refused:
            client.chat.completions.create(
                model="openai/gpt-4o",
                messages=[{"role": "user", "content": [image_part(url), {"type": "text", "text": "and?"}]}],
            )
        assert (refused.value.param, refused.value.code) == ("messages[0].content[0]", code)
    assert fake[0].requests("/v1/chat/completions") == []
