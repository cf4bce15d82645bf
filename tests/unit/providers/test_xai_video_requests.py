"""The xAI video adapter's pure parts: frame size to aspect ratio and resolution, the start body,
poll answers and how a job that ends without a video becomes an error."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from pixelmill.errors import PixelmillError
from pixelmill.providers.base import VideoRequest
from pixelmill.providers.xai_video import (
    VideoJob,
    estimated_progress,
    job_error,
    read_job,
    video_aspect_and_resolution,
    video_body,
    video_model_info,
)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1280, 720), ("16:9", "720p")),
        ((720, 1280), ("9:16", "720p")),
        ((854, 480), ("16:9", "480p")),
        ((480, 480), ("1:1", "480p")),
        ((720, 720), ("1:1", "720p")),
        ((1920, 1080), ("16:9", "720p")),  # xAI makes no 1080p: the nearest it makes
        ((640, 360), ("16:9", "480p")),
        ((960, 720), ("4:3", "720p")),
        ((720, 960), ("3:4", "720p")),
        ((1080, 720), ("3:2", "720p")),
        ((480, 720), ("2:3", "480p")),
        ((2520, 1080), ("16:9", "720p")),  # 21:9 is not among its ratios
        ((586, 586), ("1:1", "480p")),
        ((590, 590), ("1:1", "720p")),
    ],
)
def test_a_frame_size_maps_to_the_nearest_aspect_ratio_and_resolution(
    size: tuple[int, int], expected: tuple[str, str]
) -> None:
    assert video_aspect_and_resolution(*size) == expected


def test_the_start_body_for_text_to_video_has_whole_seconds_and_no_size() -> None:
    request = VideoRequest(prompt="waves", duration_seconds=6.0, width=720, height=1280)
    assert video_body("grok-imagine-video", request, None) == {
        "model": "grok-imagine-video",
        "prompt": "waves",
        "duration": 6,
        "aspect_ratio": "9:16",
        "resolution": "720p",
    }


def test_image_to_video_sends_the_still_as_a_data_uri_and_options_go_over_all_but_the_model() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (1, 2, 3)).save(buffer, format="PNG")
    request = VideoRequest(
        prompt="move",
        duration_seconds=3,
        width=640,
        height=480,
        options={"generate_audio": False, "resolution": "480p", "model": "other"},
    )
    body = video_body("grok-imagine-video", request, buffer.getvalue())
    image = body.pop("image")
    assert body == {
        "model": "grok-imagine-video",
        "prompt": "move",
        "duration": 3,
        "aspect_ratio": "4:3",
        "resolution": "480p",
        "generate_audio": False,
    }
    prefix, _, data = image["url"].partition(",")
    assert prefix == "data:image/png;base64"
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (8, 6)


@pytest.mark.parametrize("seconds", [0.0, 2.5, 16.0])
def test_durations_xai_does_not_make_are_invalid_input(seconds: float) -> None:
    with pytest.raises(PixelmillError) as refused:
        video_body("grok-imagine-video", VideoRequest(prompt="p", duration_seconds=seconds), None)
    assert (refused.value.code, refused.value.extra["field"]) == ("INVALID_INPUT", "duration_seconds")


def test_poll_answers_in_each_documented_shape() -> None:
    assert read_job({"status": "pending"}) == VideoJob("pending")
    assert read_job({"progress": 40}) == VideoJob("pending", progress=0.4)
    assert read_job(None).status == "pending"
    done = read_job(
        {
            "status": "done",
            "video": {"url": "https://vidgen.x.ai/b/xai-video-1.mp4", "duration": 6, "respect_moderation": True},
            "model": "grok-imagine-video",
            "usage": {"cost_in_usd_ticks": 500000000},
        }
    )
    assert done == VideoJob(
        "done",
        url="https://vidgen.x.ai/b/xai-video-1.mp4",
        duration=6.0,
        model="grok-imagine-video",
        cost_in_usd_ticks=500000000,
    )
    assert read_job({"status": "DONE", "video": {"url": "u"}}).status == "done"
    assert read_job({"video": {"url": "u"}}).status == "done"  # a URL without a status is done
    blocked = read_job({"status": "done", "video": {"duration": 6, "respect_moderation": False}})
    assert (blocked.moderated, blocked.url) == (True, None)
    failed = read_job(
        {
            "status": "failed",
            "video": {"duration": 0, "respect_moderation": True},
            "model": "",
            "error": {"code": "internal_error", "message": "boom"},
        }
    )
    assert (failed.status, failed.error_code, failed.error_message, failed.model) == (
        "failed",
        "internal_error",
        "boom",
        None,
    )
    assert read_job({"status": "expired"}).status == "expired"


def test_jobs_that_end_without_a_video_become_catalogue_errors() -> None:
    secret = "xai-secret-key-0123456789"
    moderated = job_error(VideoJob("done", moderated=True), "r1", secret=secret)
    assert (moderated.code, moderated.extra["upstream_code"]) == ("SAFETY_REFUSAL", "respect_moderation")
    assert moderated.extra["upstream_request_id"] == "r1"
    refused = job_error(VideoJob("failed", error_code="content_moderation", error_message="x"), "r2", secret=secret)
    assert refused.code == "SAFETY_REFUSAL"
    failed = job_error(
        VideoJob("failed", error_code="internal_error", error_message=f"bad {secret}"), "r3", secret=secret
    )
    assert (failed.code, failed.extra["upstream_code"]) == ("UPSTREAM_UNAVAILABLE", "internal_error")
    assert secret not in str(failed.body())
    expired = job_error(VideoJob("expired"), "r4", secret=secret)
    assert (expired.code, expired.extra["upstream_code"]) == ("UPSTREAM_UNAVAILABLE", "expired")
    assert "expired" in expired.message


def test_the_progress_estimate_rises_and_stays_below_the_download() -> None:
    steps = [estimated_progress(seconds) for seconds in (0, 10, 60, 600, 1200)]
    assert steps == sorted(steps)
    assert steps[0] == pytest.approx(0.05)
    assert steps[2] == pytest.approx(0.475)
    assert steps[-1] < 0.9


def test_the_catalogue_entry_is_a_per_second_video_model_with_its_limits() -> None:
    info = video_model_info()
    assert (info.id, info.generation_type, info.capabilities, info.sandbox) == (
        "xai/grok-imagine-video",
        "video",
        ("video",),
        False,
    )
    assert info.limits["resolutions"] == ["480p", "720p"]
    assert (info.limits["min_duration_seconds"], info.limits["max_duration_seconds"]) == (1, 15)
    assert info.limits["image_to_video"] is True
    assert info.limits["cost_per"] == "second"
