"""xAI video generation (Grok Imagine video): start a job, poll it, download the mp4.

``POST /videos/generations`` takes the prompt, a whole number of seconds (``duration``, 1 to 15), an
``aspect_ratio`` and a ``resolution`` (``480p`` or ``720p``), both the nearest to the requested
width and height, and for image to video the still as ``image: {url}`` holding a ``data:`` URI. It
answers ``{"request_id"}``; ``GET /videos/{request_id}`` then answers ``pending`` until the job is
``done`` (with ``video.url``, a temporary absolute URL of the mp4), ``failed`` (with xAI's error) or
``expired``. A done video with ``respect_moderation: false`` was blocked: SAFETY_REFUSAL.

The start is paced as the ``video`` rate class (xAI allows one a second); polls and the download are
not. Between polls the run's cancellation is checked; xAI documents no way to cancel a job, so a
cancelled run just stops asking. Progress is xAI's own percentage when an answer carries one, else an
estimate that rises with the time waited.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from pixelmill import errors
from pixelmill.engine.cancellation import RunCancelled
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import MediaResult, ModelInfo, VideoRequest
from pixelmill.providers.openai import png_bytes
from pixelmill.providers.upstream.client import Call, UpstreamClient
from pixelmill.providers.upstream.failures import UpstreamFailure, redact, to_error

log = logging.getLogger(__name__)

PROVIDER = "xai"
VIDEO_MODEL = "grok-imagine-video"
VIDEO_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
# Short side of each resolution xAI makes; a request gets the nearest (in log scale).
VIDEO_RESOLUTIONS = {"480p": 480, "720p": 720}
MIN_SECONDS = 1
MAX_SECONDS = 15
# Credits per second of video: the price of video.generate's own seconds (video.from_image's 15 for 5 s)
# until the operator sets model_credit_costs, which for a video model is also per second.
CREDITS_PER_SECOND = 3
SAFETY_MARKERS = ("moderation", "safety", "content policy")
# The estimate of progress reaches half way after this long without a percentage from xAI.
PROGRESS_HALF_LIFE_SECONDS = 60.0

Status = Literal["pending", "done", "failed", "expired"]
Sleep = Callable[[float], Awaitable[None]]


def video_model_info(cost: int = CREDITS_PER_SECOND) -> ModelInfo:
    """The catalogue entry of ``xai/grok-imagine-video``; its cost is per second of video."""
    return ModelInfo(
        id=f"{PROVIDER}/{VIDEO_MODEL}",
        provider=PROVIDER,
        generation_type="video",
        capabilities=("video",),
        cost=cost,
        description="xAI Grok Imagine video: 1 to 15 s clips from a prompt, or from a still and a prompt",
        sandbox=False,
        limits={
            "min_duration_seconds": MIN_SECONDS,
            "max_duration_seconds": MAX_SECONDS,
            "whole_seconds": True,
            "aspect_ratios": list(VIDEO_ASPECT_RATIOS),
            "resolutions": list(VIDEO_RESOLUTIONS),
            "image_to_video": True,
            "cost_per": "second",
        },
    )


def _log_ratio(aspect: str) -> float:
    width, height = aspect.split(":")
    return math.log(float(width) / float(height))


def video_aspect_and_resolution(width: int, height: int) -> tuple[str, str]:
    """xAI's ``aspect_ratio`` and ``resolution`` for a requested frame: the aspect ratio nearest in log
    scale, and the resolution whose short side is nearest in log scale (so 1080p asks for 720p)."""
    wanted = math.log(width / height)
    aspect = min(VIDEO_ASPECT_RATIOS, key=lambda name: abs(_log_ratio(name) - wanted))
    short = min(width, height)
    resolution = min(VIDEO_RESOLUTIONS, key=lambda name: abs(math.log(VIDEO_RESOLUTIONS[name] / short)))
    return aspect, resolution


def whole_seconds(duration: float) -> int:
    """The ``duration`` xAI takes: whole seconds from 1 to 15, else INVALID_INPUT."""
    seconds = round(duration)
    if abs(duration - seconds) > 1e-6 or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"xai/{VIDEO_MODEL} makes whole seconds from {MIN_SECONDS} to {MAX_SECONDS}, not {duration:g}",
            field="duration_seconds",
        )
    return seconds


def video_body(model: str, request: VideoRequest, image_png: bytes | None) -> dict[str, Any]:
    """The JSON of ``POST /videos/generations``; the request's ``options`` (``generate_audio``, …) go
    over it, except ``model``."""
    aspect, resolution = video_aspect_and_resolution(request.width, request.height)
    body: dict[str, Any] = {
        "model": model,
        "prompt": request.prompt,
        "duration": whole_seconds(request.duration_seconds),
        "aspect_ratio": aspect,
        "resolution": resolution,
    }
    if image_png is not None:
        body["image"] = {"url": "data:image/png;base64," + base64.b64encode(image_png).decode()}
    return {**body, **request.options, "model": model}


@dataclass(frozen=True, slots=True)
class VideoJob:
    """One answer of ``GET /videos/{request_id}``, in our terms."""

    status: Status
    url: str | None = None
    duration: float | None = None
    moderated: bool = False  # respect_moderation: false
    model: str | None = None
    cost_in_usd_ticks: int | None = None
    progress: float | None = None  # 0..1, when xAI says
    error_code: str | None = None
    error_message: str = ""


def read_job(payload: Any) -> VideoJob:
    """A poll answer; lenient where xAI's documents are: no status and no video URL is pending, a
    video URL without a status is done, and the status's case does not matter."""
    if not isinstance(payload, dict):
        return VideoJob("pending")
    video = _object(payload.get("video"))
    url = video.get("url") if isinstance(video.get("url"), str) and video.get("url") else None
    status = str(payload.get("status") or "").lower()
    if status not in ("pending", "done", "failed", "expired"):
        status = "done" if url else "pending"
    usage = payload.get("usage")
    ticks = usage.get("cost_in_usd_ticks") if isinstance(usage, dict) else None
    progress = payload.get("progress")
    error = _object(payload.get("error"))
    duration = video.get("duration")
    return VideoJob(
        status=status,  # type: ignore[arg-type]  # narrowed to the four above
        url=url,
        duration=float(duration) if isinstance(duration, int | float) else None,
        moderated=video.get("respect_moderation") is False,
        model=payload["model"] if isinstance(payload.get("model"), str) and payload["model"] else None,
        cost_in_usd_ticks=ticks if isinstance(ticks, int) else None,
        progress=min(1.0, max(0.0, progress / 100)) if isinstance(progress, int | float) else None,
        error_code=str(error["code"]) if error.get("code") not in (None, "") else None,
        error_message=error["message"] if isinstance(error.get("message"), str) else "",
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def job_error(job: VideoJob, request_id: str, *, secret: str | None) -> PixelmillError:
    """The catalogue error of a job that did not end in a usable video."""
    if job.status == "expired":
        return PixelmillError(
            errors.UPSTREAM_UNAVAILABLE,
            "xai: the generated video expired before it was downloaded",
            provider=PROVIDER,
            upstream_code="expired",
            upstream_request_id=request_id,
        )
    if job.moderated:
        refused = UpstreamFailure(200, code="respect_moderation", message="video did not respect moderation rules")
        return to_error(PROVIDER, _safe(refused, request_id), secret=secret)
    text = f"{job.error_message} {job.error_code or ''}".lower()
    if any(marker in text for marker in SAFETY_MARKERS):
        refused = UpstreamFailure(200, code=job.error_code, message=job.error_message)
        return to_error(PROVIDER, _safe(refused, request_id), secret=secret)
    extra: dict[str, Any] = {"provider": PROVIDER, "upstream_request_id": request_id}
    if job.error_code:
        extra["upstream_code"] = job.error_code
    detail = redact(job.error_message, secret) or "no reason given"
    return PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"xai video generation failed: {detail}", **extra)


def _safe(failure: UpstreamFailure, request_id: str) -> UpstreamFailure:
    return UpstreamFailure(
        failure.status, code=failure.code, message=failure.message, safety=True, request_id=request_id
    )


def estimated_progress(waited: float) -> float:
    """Progress shown while xAI gives none: rising towards 0.9 with the time waited, never reaching it."""
    return 0.05 + 0.85 * (1.0 - math.pow(0.5, waited / PROGRESS_HALF_LIFE_SECONDS))


@dataclass(frozen=True, slots=True)
class VideoTiming:
    """How often to poll and for how long (settings ``xai_video_poll_seconds`` / ``_timeout_seconds``)."""

    poll_seconds: float
    timeout_seconds: float


async def generate_video(
    client: UpstreamClient,
    request: VideoRequest,
    timing: VideoTiming,
    *,
    sleep: Sleep,
    clock: Callable[[], float] = time.monotonic,
) -> MediaResult:
    """Start the job, poll it to its end and download the mp4; see the module docstring."""
    secret = client.config.secret
    image_png = png_bytes(request.image) if request.image is not None else None
    body = video_body(VIDEO_MODEL, request, image_png)
    started = await client.request(Call("POST", "videos/generations", json=body, rate_class="video"))
    request_id = _request_id(started)
    log.info("xai video job %s started", request_id)
    report = request.progress
    if report is not None:
        report(0.05, "queued upstream")
    began = clock()
    while True:
        _raise_if_cancelled(request)
        job = read_job(_json(await client.request(Call("GET", f"videos/{request_id}"))))
        if job.status == "done" and not job.moderated and job.url:
            break
        if job.status != "pending":
            raise job_error(job, request_id, secret=secret)
        waited = clock() - began
        if waited >= timing.timeout_seconds:
            raise PixelmillError(
                errors.UPSTREAM_TIMEOUT,
                f"xai video job did not finish within {timing.timeout_seconds:g} s",
                provider=PROVIDER,
                upstream_request_id=request_id,
            )
        if report is not None:
            fraction = 0.05 + 0.85 * job.progress if job.progress is not None else estimated_progress(waited)
            report(fraction, "generating")
        await sleep(timing.poll_seconds)
        _raise_if_cancelled(request)
    assert job.url is not None
    if report is not None:
        report(0.9, "downloading")
    downloaded = await client.request(Call("GET", job.url))
    mime = downloaded.headers.get("content-type", "").split(";")[0].strip()
    if request.usage is not None:
        request.usage(_usage(job, body["duration"]))
    log.info(
        "xai video job %s done: %d bytes, cost %s ticks", request_id, len(downloaded.content), job.cost_in_usd_ticks
    )
    return MediaResult(downloaded.content, mime if mime.startswith("video/") else "video/mp4")


def _raise_if_cancelled(request: VideoRequest) -> None:
    if request.cancelled is not None and request.cancelled():
        raise RunCancelled


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _request_id(response: httpx.Response) -> str:
    payload = _json(response)
    request_id = payload.get("request_id") if isinstance(payload, dict) else None
    if not isinstance(request_id, str) or not request_id or "/" in request_id:
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "xai started no video job (no request_id)", provider=PROVIDER)
    return request_id


def _usage(job: VideoJob, asked_seconds: int) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "provider": PROVIDER,
        "model": job.model or VIDEO_MODEL,
        "duration_seconds": job.duration if job.duration is not None else asked_seconds,
    }
    if job.cost_in_usd_ticks is not None:
        shown["cost_in_usd_ticks"] = job.cost_in_usd_ticks
    return shown
