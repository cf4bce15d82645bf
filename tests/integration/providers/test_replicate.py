"""The Replicate adapter against the loopback fake (tests/support/fake_replicate.py): the exact
prediction requests, Prefer: wait, polling, cancelling a cancelled run's prediction, outputs fetched
from the CDN without the key and decoded, failures mapped, and key checks."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.cancellation import RunCancelled
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextToImageRequest, UpstreamProvider, VideoRequest
from pixelmill.providers.replicate import ReplicateProvider
from pixelmill.providers.video_encode import probe_video
from tests.support.fake_replicate import (
    COLOUR,
    PREDICT_TIME,
    VERSION,
    FakeReplicate,
    serve_fake_replicate,
)

KEY = "r8_fakeToken0123456789abcdefSECRETTAIL"
pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[tuple[FakeReplicate, str]]:
    with serve_fake_replicate(KEY) as served:
        yield served


def provider_for(base_url: str, key: str = KEY, **overrides: Any) -> ReplicateProvider:
    values: dict[str, Any] = {
        "replicate_api_token": key,
        "replicate_base_url": base_url,
        "replicate_poll_seconds": 0.01,
        "upstream_retry_budget_seconds": 5,
        **overrides,
    }
    return ReplicateProvider.from_settings(Settings(**values))


def request(prompt: str = "a lighthouse", **fields: Any) -> TextToImageRequest:
    values: dict[str, Any] = {"prompt": prompt, "width": 1344, "height": 768, "seed": 7, **fields}
    return TextToImageRequest(**values)


async def test_a_fast_official_model_answers_within_prefer_wait_and_its_images_are_fetched_without_the_key(
    fake: tuple[FakeReplicate, str],
) -> None:
    server, base_url = fake
    provider = provider_for(base_url, replicate_wait_seconds=30)
    usage: list[dict[str, Any]] = []
    try:
        pictures = await provider.text_to_image(
            "replicate/black-forest-labs/flux-schnell", request(n=2, usage=usage.append)
        )
    finally:
        await provider.aclose()
    assert [picture.size for picture in pictures] == [(1344, 768), (1344, 768)]
    assert all(picture.format == "WEBP" for picture in pictures)
    assert pictures[0].convert("RGB").getpixel((5, 5)) == pytest.approx(COLOUR, abs=4)
    (sent,) = server.requests()
    assert (sent.method, sent.path) == ("POST", "/v1/models/black-forest-labs/flux-schnell/predictions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["prefer"] == "wait=30"
    assert sent.json == {"input": {"prompt": "a lighthouse", "seed": 7, "aspect_ratio": "16:9", "num_outputs": 2}}
    assert sorted(r.path for r in server.cdn.received) == ["pred0001q8r2/out-0.webp", "pred0001q8r2/out-1.webp"]
    assert all("authorization" not in r.headers for r in server.cdn.received)
    assert usage == [
        {
            "provider": "replicate",
            "model": "black-forest-labs/flux-schnell",
            "version": VERSION,
            "prediction_id": "pred0001q8r2",
            "predict_time": PREDICT_TIME,
        }
    ]


async def test_a_slow_prediction_is_polled_until_it_succeeds(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    server.polls = 3
    provider = provider_for(base_url)
    try:
        (picture,) = await provider.text_to_image("replicate/black-forest-labs/flux-1.1-pro", request())
    finally:
        await provider.aclose()
    assert picture.size == (1344, 768)
    create, *polls = server.requests()
    assert create.json == {"input": {"prompt": "a lighthouse", "seed": 7, "aspect_ratio": "16:9"}}
    assert [(r.method, r.path) for r in polls] == [("GET", "/v1/predictions/pred0001q8r2")] * 3
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in polls)


async def test_a_versioned_id_posts_to_predictions_with_its_version_and_options_are_merged_over(
    fake: tuple[FakeReplicate, str],
) -> None:
    server, base_url = fake
    provider = provider_for(base_url)
    reference = Image.new("RGB", (40, 30), (1, 2, 3))
    options = {"output_format": "png", "guidance": 3.5, "seed": 99}
    try:
        (picture,) = await provider.text_to_image(
            f"replicate/acme/sdxl-tuned:{VERSION}", request(reference_images=(reference,), options=options)
        )
    finally:
        await provider.aclose()
    assert picture.format == "PNG"
    (sent,) = server.requests()
    assert sent.path == "/v1/predictions"
    body = dict(sent.json)
    assert body["version"] == VERSION
    values = dict(body["input"])
    image = values.pop("image")
    assert values == {
        "prompt": "a lighthouse",
        "seed": 99,
        "aspect_ratio": "16:9",
        "num_outputs": 1,
        "output_format": "png",
        "guidance": 3.5,
    }
    prefix, _, data = image.partition(",")
    assert prefix == "data:image/png;base64"
    received = Image.open(io.BytesIO(base64.b64decode(data)))
    assert received.size == (40, 30)
    assert received.convert("RGB").getpixel((0, 0)) == (1, 2, 3)


async def test_kontext_takes_its_image_as_input_image(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    provider = provider_for(base_url)
    try:
        await provider.text_to_image(
            "replicate/black-forest-labs/flux-kontext-pro", request(reference_images=(Image.new("RGB", (8, 8)),))
        )
    finally:
        await provider.aclose()
    (sent,) = server.requests()
    assert sent.json["input"]["input_image"].startswith("data:image/png;base64,")
    assert "image" not in sent.json["input"]
    assert "num_outputs" not in sent.json["input"]


async def test_a_cancelled_run_cancels_its_prediction_upstream(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    server.polls = 1000
    provider = provider_for(base_url)
    polls_seen = 0

    def cancelled() -> bool:
        nonlocal polls_seen
        polls_seen = len(server.requests("GET"))
        return polls_seen >= 2

    try:
        with pytest.raises(RunCancelled):
            await provider.text_to_image("replicate/black-forest-labs/flux-dev", request(cancelled=cancelled))
    finally:
        await provider.aclose()
    methods = [(r.method, r.path) for r in server.requests()]
    assert methods[-1] == ("POST", "/v1/predictions/pred0001q8r2/cancel")
    assert methods.count(("GET", "/v1/predictions/pred0001q8r2")) == 2
    assert server.predictions["pred0001q8r2"].status == "canceled"
    assert server.cdn.received == []


async def test_a_prediction_past_the_job_timeout_is_cancelled_and_times_out(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    server.polls = 1000
    provider = provider_for(base_url, upstream_job_timeout_seconds=0.05)
    try:
        with pytest.raises(PixelmillError) as raised:
            await provider.text_to_image("replicate/black-forest-labs/flux-dev", request())
    finally:
        await provider.aclose()
    assert raised.value.code == errors.UPSTREAM_TIMEOUT.code
    assert server.requests()[-1].path == "/v1/predictions/pred0001q8r2/cancel"


async def test_a_video_model_answers_the_mp4_it_made(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    server.polls = 2
    provider = provider_for(base_url)
    frame = Image.new("RGB", (64, 48), (9, 9, 9))
    try:
        result = await provider.generate_video("replicate/minimax/video-01", VideoRequest("waves", image=frame))
    finally:
        await provider.aclose()
    assert result.mime == "video/mp4"
    probe = probe_video(result.data)
    assert (probe.width, probe.height) == (64, 48)
    create = server.requests("POST")[0]
    assert create.path == "/v1/models/minimax/video-01/predictions"
    assert create.json["input"]["first_frame_image"].startswith("data:image/png;base64,")
    assert set(create.json["input"]) == {"prompt", "seed", "aspect_ratio", "first_frame_image"}


@pytest.mark.parametrize(
    ("prompt", "code", "words"),
    [("NSFW please", "SAFETY_REFUSAL", "NSFW content detected"), ("CRASH now", "UPSTREAM_UNAVAILABLE", "CUDA")],
)
async def test_a_failed_prediction_maps_its_error(
    fake: tuple[FakeReplicate, str], prompt: str, code: str, words: str
) -> None:
    server, base_url = fake
    server.polls = 1
    provider = provider_for(base_url)
    try:
        with pytest.raises(PixelmillError) as raised:
            await provider.text_to_image("replicate/black-forest-labs/flux-dev", request(prompt))
    finally:
        await provider.aclose()
    assert raised.value.code == code
    assert words in raised.value.message
    assert raised.value.extra["provider"] == "replicate"


async def test_an_rfc_7807_validation_error_is_upstream_bad_request_naming_the_field(
    fake: tuple[FakeReplicate, str],
) -> None:
    _, base_url = fake
    provider = provider_for(base_url)
    try:
        with pytest.raises(PixelmillError) as raised:
            await provider.text_to_image("replicate/black-forest-labs/flux-dev", request("x", options={"prompt": ""}))
    finally:
        await provider.aclose()
    assert raised.value.code == errors.UPSTREAM_BAD_REQUEST.code
    assert raised.value.extra["param"] == "prompt"
    assert raised.value.extra["upstream_code"] == "Input validation failed"
    assert raised.value.extra["upstream_status"] == 422


async def test_a_429_with_retry_after_is_retried(fake: tuple[FakeReplicate, str]) -> None:
    server, base_url = fake
    server.fail_next(
        429, {"title": "Too Many Requests", "detail": "Request was throttled.", "status": 429}, {"Retry-After": "0"}
    )
    provider = provider_for(base_url)
    try:
        pictures = await provider.text_to_image("replicate/black-forest-labs/flux-schnell", request())
    finally:
        await provider.aclose()
    assert len(pictures) == 1
    assert [r.path for r in server.requests("POST")] == ["/v1/models/black-forest-labs/flux-schnell/predictions"] * 2


async def test_a_good_token_passes_the_key_check_and_a_wrong_one_is_auth_failed_without_the_key(
    fake: tuple[FakeReplicate, str],
) -> None:
    server, base_url = fake
    wrong = "r8_wrongToken9876543210LEAKEDTAIL"
    operator = provider_for(base_url)
    workspace = operator.with_key(wrong)
    assert isinstance(operator, UpstreamProvider)
    assert workspace.is_configured()
    try:
        await operator.check_key()
        with pytest.raises(PixelmillError) as raised:
            await workspace.check_key()
    finally:
        await operator.aclose()
        await workspace.aclose()
    assert raised.value.code == errors.UPSTREAM_AUTH_FAILED.code
    assert wrong not in str(raised.value)
    assert "LEAKED" not in repr(raised.value.extra)
    assert [r.headers["authorization"] for r in server.requests("GET", "/v1/account")] == [
        f"Bearer {KEY}",
        f"Bearer {wrong}",
    ]
