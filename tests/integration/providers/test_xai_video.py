"""The xAI video adapter against the fake xAI on loopback: the exact start request, polling to the
end, the mp4 downloaded from the bucket (another origin, no key) and decodable, and each way a job
ends without a video. The app-level runs are in tests/integration/nodes/test_video_generate.py."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from pixelmill.engine.cancellation import RunCancelled
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import MediaResult, VideoRequest
from pixelmill.providers.upstream.client import UpstreamConfig
from pixelmill.providers.video_encode import extract_frame, probe_video
from pixelmill.providers.xai import RATES, XAIProvider
from pixelmill.providers.xai_video import VideoTiming
from tests.support.fake_xai import COLOUR, VIDEO_FPS, VIDEO_TICKS_PER_SECOND, FakeXAI, serve_fake_xai

pytestmark = pytest.mark.anyio

MODEL = "xai/grok-imagine-video"
FAST = VideoTiming(poll_seconds=0.05, timeout_seconds=10)


@pytest.fixture
def key() -> str:
    return f"xai-video-{uuid.uuid4().hex}"


@pytest.fixture
def fake(key: str) -> Iterator[tuple[FakeXAI, str]]:
    with serve_fake_xai(key) as served:
        yield served


def provider_for(base_url: str, key: str, timing: VideoTiming = FAST) -> XAIProvider:
    config = UpstreamConfig(
        provider="xai", base_url=base_url + "/", headers={"Authorization": f"Bearer {key}"}, secret=key, rates=RATES
    )
    return XAIProvider(config, video_timing=timing)


class Recorder:
    """Progress and usage as a node's context would keep them."""

    def __init__(self) -> None:
        self.progress: list[tuple[float, str | None]] = []
        self.usage: dict[str, Any] = {}

    def report(self, fraction: float, message: str | None = None, *, preview: str | None = None) -> None:
        self.progress.append((fraction, message))

    def record(self, usage: dict[str, Any]) -> None:
        self.usage.update(usage)


async def generate(provider: XAIProvider, recorder: Recorder, **fields: Any) -> MediaResult:
    request = VideoRequest(progress=recorder.report, usage=recorder.record, **{"prompt": "waves", **fields})
    try:
        return await provider.generate_video(MODEL, request)
    finally:
        await provider.aclose()


async def test_text_to_video_starts_polls_and_downloads_a_real_mp4(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    server.video_pending_polls = 3
    recorder = Recorder()
    result = await generate(provider_for(base_url, key), recorder, duration_seconds=3, width=1280, height=720)
    (started,) = server.requests("/v1/videos/generations")
    assert started.headers["authorization"] == f"Bearer {key}"
    assert started.headers["content-type"] == "application/json"
    assert started.json == {
        "model": "grok-imagine-video",
        "prompt": "waves",
        "duration": 3,
        "aspect_ratio": "16:9",
        "resolution": "720p",
    }
    (request_id,) = server.jobs
    polls = server.requests(f"/v1/videos/{request_id}")
    assert len(polls) == 4  # pending three times, then done
    assert all(poll.headers["authorization"] == f"Bearer {key}" for poll in polls)
    assert min(b.at - a.at for a, b in itertools.pairwise(polls)) >= 0.03  # the poll interval, less jitter
    (download,) = [r for r in server.requests() if r.path.startswith("/bucket/")]
    assert "authorization" not in download.headers  # the bucket is another origin: the key stays home
    assert result.mime == "video/mp4"
    probe = probe_video(result.data)
    assert (probe.width, probe.height) == (86, 48)
    assert probe.duration_seconds == pytest.approx(3, abs=0.3)
    assert round(probe.fps) == VIDEO_FPS
    first = extract_frame(result.data, 0.0).convert("RGB").getpixel((10, 10))
    assert all(abs(got - want) <= 12 for got, want in zip(first[:2], COLOUR[:2], strict=True))
    assert recorder.usage == {
        "provider": "xai",
        "model": "grok-imagine-video",
        "duration_seconds": 3.0,
        "cost_in_usd_ticks": 3 * VIDEO_TICKS_PER_SECOND,
    }
    fractions = [fraction for fraction, _ in recorder.progress]
    assert fractions == sorted(fractions)
    assert recorder.progress[0] == (0.05, "queued upstream")
    assert recorder.progress[-1] == (0.9, "downloading")
    assert sum(1 for _, message in recorder.progress if message == "generating") == 3


async def test_xais_own_progress_percentage_is_shown(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    server.video_pending_polls = 3
    server.video_progress = True
    recorder = Recorder()
    await generate(provider_for(base_url, key), recorder, duration_seconds=1, width=480, height=480)
    generating = [fraction for fraction, message in recorder.progress if message == "generating"]
    assert generating == pytest.approx([0.05 + 0.85 * p for p in (0.25, 0.5, 0.75)])


async def test_image_to_video_sends_the_still_as_a_data_uri(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    still = Image.new("RGB", (96, 128), (10, 200, 30))
    result = await generate(
        provider_for(base_url, key),
        Recorder(),
        prompt="she turns",
        image=still,
        duration_seconds=2,
        width=480,
        height=640,
        options={"generate_audio": False},
    )
    (started,) = server.requests("/v1/videos/generations")
    body = dict(started.json)
    prefix, _, data = body.pop("image")["url"].partition(",")
    assert body == {
        "model": "grok-imagine-video",
        "prompt": "she turns",
        "duration": 2,
        "aspect_ratio": "3:4",
        "resolution": "480p",
        "generate_audio": False,
    }
    assert prefix == "data:image/png;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(data)))
    assert (sent.size, sent.convert("RGB").getpixel((5, 5))) == ((96, 128), (10, 200, 30))
    probe = probe_video(result.data)
    assert (probe.width, probe.height) == (48, 64)


@pytest.mark.parametrize(
    ("prompt", "code", "upstream_code"),
    [
        ("FORBIDDEN dance", "SAFETY_REFUSAL", "respect_moderation"),
        ("FAILED dance", "UPSTREAM_UNAVAILABLE", "internal_error"),
        ("EXPIRED dance", "UPSTREAM_UNAVAILABLE", "expired"),
    ],
)
async def test_a_job_that_ends_without_a_video_is_a_clear_error_and_nothing_is_downloaded(
    fake: tuple[FakeXAI, str], key: str, prompt: str, code: str, upstream_code: str
) -> None:
    server, base_url = fake
    recorder = Recorder()
    with pytest.raises(PixelmillError) as failed:
        await generate(provider_for(base_url, key), recorder, prompt=prompt, duration_seconds=2)
    assert (failed.value.code, failed.value.extra["upstream_code"]) == (code, upstream_code)
    assert failed.value.extra["provider"] == "xai"
    assert failed.value.extra["upstream_request_id"] == next(iter(server.jobs))
    assert not [r for r in server.requests() if r.path.startswith("/bucket/")]
    assert recorder.usage == {}
    assert key not in str(failed.value.body())


async def test_cancelling_during_polling_stops_asking_and_downloads_nothing(
    fake: tuple[FakeXAI, str], key: str
) -> None:
    server, base_url = fake
    server.video_pending_polls = 1000
    polls_seen: list[int] = []

    def cancelled() -> bool:
        polls_seen.append(len(server.requests()) - 1)
        return polls_seen[-1] >= 2  # the run is cancelled once two polls were answered

    with pytest.raises(RunCancelled):
        await generate(provider_for(base_url, key), Recorder(), duration_seconds=1, cancelled=cancelled)
    (request_id,) = server.jobs
    assert len(server.requests(f"/v1/videos/{request_id}")) == 2
    assert not [r for r in server.requests() if r.path.startswith("/bucket/")]


async def test_a_job_that_outlives_the_timeout_is_upstream_timeout(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    server.video_pending_polls = 1000
    with pytest.raises(PixelmillError) as failed:
        await generate(
            provider_for(base_url, key, VideoTiming(poll_seconds=0.05, timeout_seconds=0.3)),
            Recorder(),
            duration_seconds=1,
        )
    assert failed.value.code == "UPSTREAM_TIMEOUT"
    (request_id,) = server.jobs
    assert 3 <= len(server.requests(f"/v1/videos/{request_id}")) <= 12


async def test_a_refused_start_is_read_as_xais_error_and_nothing_is_polled(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    with pytest.raises(PixelmillError) as failed:
        await generate(
            provider_for(base_url, key),
            Recorder(),
            image=Image.new("RGB", (16, 16)),
            duration_seconds=1,
            options={"reference_images": [{"url": "data:image/png;base64,AAAA"}]},
        )
    assert (failed.value.code, failed.value.extra["upstream_status"]) == ("UPSTREAM_BAD_REQUEST", 400)
    assert "reference_images" in failed.value.message
    assert server.jobs == {}
    assert [r.path for r in server.requests()] == ["/v1/videos/generations"]


async def test_video_starts_are_paced_one_a_second(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    server.video_pending_polls = 0
    provider = provider_for(base_url, key)
    try:
        await asyncio.gather(
            *(provider.generate_video(MODEL, VideoRequest(prompt="p", duration_seconds=1)) for _ in range(2))
        )
    finally:
        await provider.aclose()
    first, second = server.requests("/v1/videos/generations")
    assert second.at - first.at >= 0.85  # one a second, less the jitter of a loopback hop
