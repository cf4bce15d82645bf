"""The fal adapter against the loopback fake queue (tests/support/fake_fal.py): the exact queue
requests with ``Authorization: Key``, status polling through the returned URLs, cancelling a
cancelled run's request, outputs fetched from the CDN without the key, failures and key checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.cancellation import RunCancelled
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ImageToImageRequest, TextToImageRequest, UpstreamProvider, VideoRequest
from pixelmill.providers.fal import FalProvider
from pixelmill.providers.video_encode import probe_video
from tests.support.fake_fal import COLOUR, INFERENCE_TIME, FakeFal, serve_fake_fal

KEY = "fal-key-id:fakeSecret0123456789SECRETTAIL"
pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[tuple[FakeFal, str]]:
    with serve_fake_fal(KEY) as served:
        yield served


def provider_for(base_url: str, key: str = KEY, **overrides: Any) -> FalProvider:
    values: dict[str, Any] = {
        "fal_key": key,
        "fal_base_url": base_url,
        "fal_poll_seconds": 0.01,
        "upstream_retry_budget_seconds": 5,
        **overrides,
    }
    return FalProvider.from_settings(Settings(**values))


def request(prompt: str = "a red fox", **fields: Any) -> TextToImageRequest:
    values: dict[str, Any] = {"prompt": prompt, "width": 1024, "height": 576, "seed": 11, **fields}
    return TextToImageRequest(**values)


async def test_a_queued_request_is_polled_to_completed_and_its_images_fetched_without_the_key(
    fake: tuple[FakeFal, str],
) -> None:
    server, base_url = fake
    server.polls = 3
    provider = provider_for(base_url)
    usage: list[dict[str, Any]] = []
    try:
        pictures = await provider.text_to_image("fal/fal-ai/flux/schnell", request(n=2, usage=usage.append))
    finally:
        await provider.aclose()
    assert [picture.size for picture in pictures] == [(1024, 576)] * 2
    assert pictures[0].format == "JPEG"
    assert pictures[0].convert("RGB").getpixel((20, 20)) == pytest.approx(COLOUR, abs=6)
    submit, *rest = server.requests()
    assert (submit.method, submit.path) == ("POST", "/fal-ai/flux/schnell")
    assert submit.headers["authorization"] == f"Key {KEY}"
    assert submit.json == {
        "prompt": "a red fox",
        "seed": 11,
        "image_size": {"width": 1024, "height": 576},
        "num_images": 2,
    }
    request_id = "0001-aaaa-4bbb-8ccc-fal"
    # The status and response URLs drop the subpath, as fal's do; the adapter follows them as given.
    assert [(r.method, r.path) for r in rest] == [("GET", f"/fal-ai/flux/requests/{request_id}/status")] * 3 + [
        ("GET", f"/fal-ai/flux/requests/{request_id}")
    ]
    assert all(r.headers["authorization"] == f"Key {KEY}" for r in rest)
    assert sorted(r.path for r in server.cdn.received) == [f"files/{request_id}/0.jpeg", f"files/{request_id}/1.jpeg"]
    assert all("authorization" not in r.headers for r in server.cdn.received)
    assert usage == [
        {"provider": "fal", "model": "fal-ai/flux/schnell", "request_id": request_id, "inference_time": INFERENCE_TIME}
    ]


async def test_an_unlisted_model_runs_by_name_with_its_image_as_image_url_and_options_over(
    fake: tuple[FakeFal, str],
) -> None:
    server, base_url = fake
    provider = provider_for(base_url)
    source = Image.new("RGB", (48, 32), (5, 6, 7))
    try:
        (picture,) = await provider.image_to_image(
            "fal/fal-ai/flux-pro/kontext", ImageToImageRequest(image=source, operation="edit", prompt="snow")
        )
        await provider.text_to_image(
            "fal/fal-ai/recraft/v3/text-to-image", request(options={"output_format": "png", "style": "any"})
        )
    finally:
        await provider.aclose()
    assert picture.size == (48, 32)
    first, second = server.requests("POST")
    assert first.path == "/fal-ai/flux-pro/kontext"
    assert first.json["image_url"].startswith("data:image/png;base64,")
    assert first.json["image_size"] == {"width": 48, "height": 32}
    assert second.path == "/fal-ai/recraft/v3/text-to-image"
    assert second.json == {
        "prompt": "a red fox",
        "seed": 11,
        "image_size": {"width": 1024, "height": 576},
        "num_images": 1,
        "output_format": "png",
        "style": "any",
    }


async def test_a_cancelled_run_puts_the_cancel_url(fake: tuple[FakeFal, str]) -> None:
    server, base_url = fake
    server.polls = 1000
    provider = provider_for(base_url)
    try:
        with pytest.raises(RunCancelled):
            await provider.text_to_image(
                "fal/fal-ai/flux/dev", request(cancelled=lambda: len(server.requests("GET")) >= 2)
            )
    finally:
        await provider.aclose()
    last = server.requests()[-1]
    assert (last.method, last.path) == ("PUT", "/fal-ai/flux/requests/0001-aaaa-4bbb-8ccc-fal/cancel")
    assert last.headers["authorization"] == f"Key {KEY}"
    assert server.queued["0001-aaaa-4bbb-8ccc-fal"].cancelled
    assert server.cdn.received == []


async def test_image_to_video_sends_image_url_and_aspect_ratio_and_answers_the_mp4(fake: tuple[FakeFal, str]) -> None:
    server, base_url = fake
    provider = provider_for(base_url)
    frame = Image.new("RGB", (64, 48), (1, 1, 1))
    try:
        result = await provider.generate_video(
            "fal/fal-ai/minimax/video-01/image-to-video", VideoRequest("tide", image=frame, width=1280, height=720)
        )
    finally:
        await provider.aclose()
    assert result.mime == "video/mp4"
    assert probe_video(result.data).width == 64
    (submit,) = server.requests("POST")
    assert submit.path == "/fal-ai/minimax/video-01/image-to-video"
    assert set(submit.json) == {"prompt", "seed", "aspect_ratio", "image_url"}
    assert submit.json["aspect_ratio"] == "16:9"


async def test_a_validation_error_at_the_response_url_is_bad_request_naming_the_field(
    fake: tuple[FakeFal, str],
) -> None:
    _, base_url = fake
    provider = provider_for(base_url)
    try:
        with pytest.raises(PixelmillError) as raised:
            await provider.text_to_image("fal/fal-ai/flux/dev", request(options={"prompt": ""}))
    finally:
        await provider.aclose()
    assert raised.value.code == errors.UPSTREAM_BAD_REQUEST.code
    assert (raised.value.extra["param"], raised.value.extra["upstream_status"]) == ("prompt", 422)
    assert "prompt: field required" in raised.value.message


async def test_an_nsfw_flagged_output_is_a_safety_refusal(fake: tuple[FakeFal, str]) -> None:
    server, base_url = fake
    provider = provider_for(base_url)
    try:
        with pytest.raises(PixelmillError) as raised:
            await provider.text_to_image("fal/fal-ai/flux/dev", request("NSFW thing"))
    finally:
        await provider.aclose()
    assert (raised.value.code, raised.value.extra["upstream_code"]) == ("SAFETY_REFUSAL", "has_nsfw_concepts")
    assert server.cdn.received == []


async def test_a_429_at_submission_is_retried(fake: tuple[FakeFal, str]) -> None:
    server, base_url = fake
    server.fail_next(429, {"detail": "Rate limit exceeded"}, {"Retry-After": "0"})
    provider = provider_for(base_url)
    try:
        assert len(await provider.text_to_image("fal/fal-ai/flux/schnell", request())) == 1
    finally:
        await provider.aclose()
    assert len(server.requests("POST")) == 2


async def test_the_key_check_passes_a_good_key_and_refuses_a_wrong_one_without_the_key(
    fake: tuple[FakeFal, str],
) -> None:
    server, base_url = fake
    wrong = "fal-key-id:wrongSecret9876543210LEAKED"
    operator = provider_for(base_url)
    workspace = operator.with_key(wrong)
    assert isinstance(operator, UpstreamProvider)
    try:
        await operator.check_key()
        with pytest.raises(PixelmillError) as raised:
            await workspace.check_key()
    finally:
        await operator.aclose()
        await workspace.aclose()
    assert raised.value.code == errors.UPSTREAM_AUTH_FAILED.code
    assert "LEAKED" not in str(raised.value)
    assert "LEAKED" not in repr(raised.value.extra)
    assert [r.headers["authorization"] for r in server.requests("GET")] == [f"Key {KEY}", f"Key {wrong}"]
