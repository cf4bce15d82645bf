"""A fake xAI API on a loopback port: the documented JSON shapes of ``/v1/images/generations`` and
``/v1/images/edits`` (input images as ``{url}`` data URIs), the video jobs of ``/v1/videos/generations``
polled at ``/v1/videos/{request_id}``, xAI's own error body ``{"code", "error"}``, real PNG and MP4
bytes, and a record of every request it received (with the time it arrived).

Behaviour follows the real API where pixelmill depends on it: a wrong key is an HTTP 400 "Incorrect
API key provided: xa***yz" (not a 401); ``size`` is refused (xAI takes ``aspect_ratio`` and
``resolution``); the image's long side is 1024 (``1k``) or 2048 (``2k``) at the asked aspect ratio.
A prompt containing ``FORBIDDEN`` gets an item with ``respect_moderation: false`` and no image,
``BLOCKED`` an empty ``data`` with a ``block_reason``. With :attr:`FakeXAI.data_uri_prefix` the
``b64_json`` carries a ``data:image/png;base64,`` prefix, as older answers did. Tests queue answers
with :meth:`FakeXAI.fail_next`, served first, in order.

Video: a job answers ``pending`` :attr:`FakeXAI.video_pending_polls` times (with a ``progress``
percentage when :attr:`FakeXAI.video_progress` is set), then ``done`` with the URL of a real H.264 MP4
of the asked duration and shape on a second loopback server (the "bucket": another origin, as xAI's
vidgen host is, which takes no key). A prompt containing ``FORBIDDEN`` ends ``done`` with
``respect_moderation: false`` and no URL, ``FAILED`` ends ``failed`` with xAI's error object, and
``EXPIRED`` ends ``expired``. The body is checked as xAI documents it (whole seconds 1-15, its aspect
ratios and resolutions, ``image`` and ``reference_images`` exclusive): anything else is a 400.
"""

from __future__ import annotations

import base64
import functools
import io
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pixelmill.providers.video_encode import Mp4Writer
from tests.support.loopback import serve_loopback

COLOUR = (240, 90, 20)  # the fake's images are this colour, so a test can tell them apart
MODELS = ("grok-imagine-image", "grok-imagine-image-quality")
COST_TICKS = 200_000_000  # usage.cost_in_usd_ticks of every image answer
INVALID_ARGUMENT = "Client specified an invalid argument"
VIDEO_MODEL = "grok-imagine-video"
VIDEO_TICKS_PER_SECOND = 50_000_000  # usage.cost_in_usd_ticks of a done video, per second
VIDEO_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
VIDEO_FPS = 4  # the fake's clips are small and short-framed: enough to decode and count
VIDEO_SHORT_SIDE = 48


@dataclass
class Received:
    """One request as the fake saw it."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def png(width: int, height: int, colour: tuple[int, int, int] = COLOUR) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def error_body(message: str, code: str = INVALID_ARGUMENT) -> dict[str, Any]:
    """xAI's native error body."""
    return {"code": code, "error": message}


@dataclass
class VideoJob:
    """One video job the fake started."""

    prompt: str
    duration: int
    aspect: str
    polls: int = 0


@functools.cache
def mp4(aspect: str, seconds: int) -> bytes:
    """A real H.264 MP4 of ``seconds`` at ``aspect`` (short side 48 px), its frames in the fake's colour."""
    across, down = (int(part) for part in aspect.split(":"))
    long_side = 2 * round(VIDEO_SHORT_SIDE * max(across, down) / min(across, down) / 2)
    size = (long_side, VIDEO_SHORT_SIDE) if across >= down else (VIDEO_SHORT_SIDE, long_side)
    with Mp4Writer(size, VIDEO_FPS) as writer:
        for index in range(seconds * VIDEO_FPS):
            writer.write(Image.new("RGB", size, (COLOUR[0], COLOUR[1], (index * 7) % 256)))
        return writer.finish()


def video_problem(params: dict[str, Any]) -> str | None:
    """What xAI would refuse in a video generation body, or None."""
    if not params.get("prompt"):
        return "prompt is required"
    duration = params.get("duration", 8)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 15:
        return f"duration must be a whole number of seconds from 1 to 15, got {duration!r}"
    if params.get("aspect_ratio", "16:9") not in VIDEO_ASPECTS:
        return f"unsupported aspect_ratio {params.get('aspect_ratio')!r}"
    if params.get("resolution", "480p") not in ("480p", "720p"):
        return f"unsupported resolution {params.get('resolution')!r}"
    if "image" in params and "reference_images" in params:
        return "image and reference_images cannot be used together"
    image = params.get("image")
    if image is not None and not (isinstance(image, dict) and str(image.get("url", "")).startswith("data:image/")):
        return "image must be {url: <data URI or URL>}"
    return None


def image_size(aspect: str, resolution: str) -> tuple[int, int]:
    """The fake's image size: the long side 1024 or 2048, the other side by the aspect ratio."""
    width, height = (float(part) for part in aspect.split(":"))
    long_side = 2048 if resolution == "2k" else 1024
    if width >= height:
        return long_side, round(long_side * height / width)
    return round(long_side * width / height), long_side


class FakeXAI:
    """State and behaviour; served by :func:`serve_fake_xai`."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self.data_uri_prefix = False
        self.lock = threading.Lock()
        self.video_pending_polls = 2
        self.video_progress = False
        self.jobs: dict[str, VideoJob] = {}
        self.bucket_url = ""  # set once the bucket server listens

    def fail_next(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.scripted.append(Scripted(status, body, headers or {}))

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    async def list_models(self, request: Request) -> Response:
        """``GET /v1/models``: what a key check asks; a wrong key is xAI's 400, as on every route."""
        with self.lock:
            self.received.append(Received(request.url.path, dict(request.headers), {}))
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return self._bad_key(request)
        models = [{"id": name, "object": "model", "owned_by": "xai"} for name in MODELS]
        return JSONResponse({"object": "list", "data": models})

    def _bad_key(self, request: Request) -> Response:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        message = f"Incorrect API key provided: {sent[:2]}***{sent[-2:]}. You can obtain an API key from https://console.x.ai."
        return JSONResponse(error_body(message), 400)

    async def handle(self, request: Request) -> Response:
        params = await request.json()
        with self.lock:
            self.received.append(Received(request.url.path, dict(request.headers), params))
            scripted = self.scripted.pop(0) if self.scripted else None
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return self._bad_key(request)
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        if "size" in params:
            return JSONResponse(error_body("Argument not supported: size"), 400)
        if not params.get("prompt"):
            return JSONResponse(error_body("prompt is required"), 422)
        prompt = str(params["prompt"])
        n = int(params.get("n", 1))
        model = str(params.get("model", "grok-imagine-image"))
        usage = {"cost_in_usd_ticks": COST_TICKS * n}
        if "BLOCKED" in prompt:
            return JSONResponse({"block_reason": "csam_prompt", "data": [], "usage": usage})
        if "FORBIDDEN" in prompt:
            flagged = {"url": None, "b64_json": None, "mime_type": "image/png", "respect_moderation": False}
            return JSONResponse({"block_reason": None, "data": [flagged] * n, "usage": usage})
        aspect = str(params.get("aspect_ratio", "1:1"))
        picture = base64.b64encode(png(*image_size(aspect, str(params.get("resolution", "1k"))))).decode()
        if self.data_uri_prefix:
            picture = "data:image/png;base64," + picture
        item = {
            "url": None,
            "b64_json": picture,
            "mime_type": "image/png",
            "revised_prompt": f"A detailed picture: {prompt}",
            "respect_moderation": True,
        }
        return JSONResponse({"block_reason": None, "data": [item] * n, "model": model, "usage": usage})

    async def start_video(self, request: Request) -> Response:
        """``POST /v1/videos/generations``: ``{"request_id"}`` of a new job."""
        params = await request.json()
        with self.lock:
            self.received.append(Received(request.url.path, dict(request.headers), params))
            scripted = self.scripted.pop(0) if self.scripted else None
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return self._bad_key(request)
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        problem = video_problem(params)
        if problem is not None:
            return JSONResponse(error_body(problem), 400)
        request_id = str(uuid.uuid4())
        job = VideoJob(str(params["prompt"]), int(params.get("duration", 8)), str(params.get("aspect_ratio", "16:9")))
        with self.lock:
            self.jobs[request_id] = job
        return JSONResponse({"request_id": request_id})

    async def poll_video(self, request: Request) -> Response:
        """``GET /v1/videos/{request_id}``: pending a few times, then the job's end."""
        with self.lock:
            self.received.append(Received(request.url.path, dict(request.headers), {}))
            job = self.jobs.get(request.path_params["request_id"])
            if job is not None:
                job.polls += 1
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return self._bad_key(request)
        if job is None:
            return JSONResponse(error_body("No video generation request with this id", "Not found"), 404)
        if job.polls <= self.video_pending_polls:
            pending: dict[str, Any] = {"status": "pending"}
            if self.video_progress:
                pending["progress"] = round(100 * job.polls / (self.video_pending_polls + 1))
            return JSONResponse(pending)
        usage = {"cost_in_usd_ticks": VIDEO_TICKS_PER_SECOND * job.duration}
        if "FAILED" in job.prompt:
            failed = {"duration": 0, "respect_moderation": True}
            error = {"code": "internal_error", "message": "Video generation failed on the worker"}
            return JSONResponse({"status": "failed", "video": failed, "model": "", "error": error})
        if "EXPIRED" in job.prompt:
            return JSONResponse({"status": "expired"})
        if "FORBIDDEN" in job.prompt:
            video = {"duration": job.duration, "respect_moderation": False}
            return JSONResponse({"status": "done", "video": video, "model": VIDEO_MODEL, "usage": usage})
        name = f"xai-video-{request.path_params['request_id']}-{job.aspect.replace(':', 'x')}-{job.duration}.mp4"
        video = {
            "url": f"{self.bucket_url}/xai-vidgen-bucket/{name}",
            "duration": job.duration,
            "respect_moderation": True,
        }
        return JSONResponse({"status": "done", "video": video, "model": VIDEO_MODEL, "usage": usage})

    async def bucket_file(self, request: Request) -> Response:
        """The bucket's ``GET /xai-vidgen-bucket/<name>.mp4``: the clip, to anyone holding the URL."""
        with self.lock:
            self.received.append(Received("/bucket" + request.url.path, dict(request.headers), {}))
        parts = request.path_params["name"].removesuffix(".mp4").split("-")
        aspect, seconds = parts[-2].replace("x", ":"), int(parts[-1])
        return Response(mp4(aspect, seconds), media_type="video/mp4")


@contextmanager
def serve_fake_xai(key: str) -> Iterator[tuple[FakeXAI, str]]:
    """Serve a FakeXAI on 127.0.0.1 (an ephemeral port) and its video bucket on another; yield the
    fake and its ``/v1`` base URL."""
    fake = FakeXAI(key)
    app = Starlette(
        routes=[
            Route("/v1/images/{kind}", fake.handle, methods=["POST"]),
            Route("/v1/models", fake.list_models, methods=["GET"]),
            Route("/v1/videos/generations", fake.start_video, methods=["POST"]),
            Route("/v1/videos/{request_id}", fake.poll_video, methods=["GET"]),
        ]
    )
    bucket = Starlette(routes=[Route("/xai-vidgen-bucket/{name}", fake.bucket_file, methods=["GET"])])
    with serve_loopback(bucket, "fake-xai-bucket") as bucket_origin, serve_loopback(app, "fake-xai") as origin:
        fake.bucket_url = bucket_origin
        yield fake, f"{origin}/v1"
