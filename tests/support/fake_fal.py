"""A fake fal queue API on a loopback port, with its outputs on a separate fake CDN.

The documented queue protocol: ``POST /{owner}/{app}[/{subpath}]`` (``Authorization: Key <key>``)
answers ``request_id``, ``status_url``, ``response_url`` and ``cancel_url``, which drop the subpath;
``GET .../requests/{id}/status`` moves the request through ``IN_QUEUE`` and ``IN_PROGRESS`` (HTTP 202)
to ``COMPLETED`` (200, with ``metrics``), one poll per step, :attr:`FakeFal.polls` polls in all;
``GET .../requests/{id}`` is the model's output (a still-running request is a 400);
``PUT .../requests/{id}/cancel`` cancels. Errors are ``{"detail": ...}``: a wrong key is a 401, an
unknown request a 404, a missing prompt is found when the model runs and answered at the response
URL as a 422 validation list naming ``prompt`` (fal validates inside the runner).

Image models answer ``images: [{url, content_type, width, height}]`` sized by ``image_size``, in
``output_format`` (default jpeg, as FLUX on fal), with ``has_nsfw_concepts`` set for a prompt
containing ``NSFW``; a path naming video answers ``video: {url, content_type, file_name, file_size}``
with a real MP4. :meth:`FakeFal.fail_next` queues whole answers to the next queue submission.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_cdn import FakeCdn, serve_fake_cdn, small_mp4
from tests.support.fake_upstream import RecordingUpstream
from tests.support.loopback import serve_loopback

COLOUR = (200, 60, 140)
INFERENCE_TIME = 0.42
NAMED_SIZES = {"square_hd": (1024, 1024), "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576)}


@dataclass
class Queued:
    id: str
    path: str  # the full model path it was submitted to
    input: dict[str, Any]
    polls_left: int
    status: str = "IN_QUEUE"
    cancelled: bool = False


class FakeFal(RecordingUpstream):
    """State and behaviour; served by :func:`serve_fake_fal`. A scripted answer (:meth:`fail_next`)
    answers the next authorised queue submission."""

    def __init__(self, key: str, cdn: FakeCdn) -> None:
        super().__init__(key, cdn)
        self.polls = 1  # status polls until COMPLETED (the queue always takes at least one)
        self.queued: dict[str, Queued] = {}

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Key {self.key}":
            return None
        return JSONResponse({"detail": "No user found for Key ID and Secret"}, 401)

    def _find(self, request: Request) -> Queued | Response:
        with self.lock:
            found = self.queued.get(request.path_params["rid"])
        return found if found is not None else JSONResponse({"detail": "Request not found"}, 404)

    async def _lookup(self, request: Request) -> Queued | Response:
        """Record a request about a queued one; that one, or the answer refusing the request."""
        await self._record(request)
        refused = self._refused(request)
        return refused if refused is not None else self._find(request)

    def _urls(self, owner: str, app: str, request_id: str) -> dict[str, str]:
        base = f"{self.origin}/{owner}/{app}/requests/{request_id}"
        return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}

    async def submit(self, request: Request) -> Response:
        _, body = await self._record(request)
        refused = self._refused(request)
        if refused is not None:
            return refused
        scripted = self._take_scripted()
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        path = request.path_params["path"]
        parts = path.split("/")
        if len(parts) < 2 or not isinstance(body, dict):
            return JSONResponse({"detail": "Not Found"}, 404)
        with self.lock:
            queued = Queued(f"{next(self.ids):04d}-aaaa-4bbb-8ccc-fal", path, body, max(1, self.polls))
            self.queued[queued.id] = queued
        answer = {"request_id": queued.id, **self._urls(parts[0], parts[1], queued.id)}
        return JSONResponse({**answer, "status": "IN_QUEUE", "queue_position": 0})

    async def status(self, request: Request) -> Response:
        found = await self._lookup(request)
        if isinstance(found, Response):
            return found
        with self.lock:
            if found.status != "COMPLETED":
                found.polls_left -= 1
                found.status = "COMPLETED" if found.polls_left <= 0 else "IN_PROGRESS"
            status = found.status
        urls = self._urls(*request.url.path.split("/")[1:3], found.id)
        if status == "COMPLETED":
            return JSONResponse({"status": status, "logs": [], "metrics": {"inference_time": INFERENCE_TIME}, **urls})
        return JSONResponse({"status": status, "logs": [], **urls}, 202)

    async def cancel(self, request: Request) -> Response:
        found = await self._lookup(request)
        if isinstance(found, Response):
            return found
        with self.lock:
            if found.status == "COMPLETED":
                return JSONResponse({"status": "ALREADY_COMPLETED"}, 400)
            found.cancelled = True
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)

    async def result(self, request: Request) -> Response:
        found = await self._lookup(request)
        if isinstance(found, Response):
            return found
        if found.status != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, 400)
        prompt = found.input.get("prompt")
        if not prompt:
            missing = [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]
            return JSONResponse({"detail": missing}, 422)
        if "video" in found.path:
            data = small_mp4()
            url = self.cdn.put(f"files/{found.id}/output.mp4", data, "video/mp4")
            video = {"url": url, "content_type": "video/mp4", "file_name": "output.mp4", "file_size": len(data)}
            return JSONResponse({"video": video})
        return JSONResponse(self._images(found, str(prompt)))

    def _images(self, found: Queued, prompt: str) -> dict[str, Any]:
        size = found.input.get("image_size", "landscape_4_3")
        width, height = (size["width"], size["height"]) if isinstance(size, dict) else NAMED_SIZES[str(size)]
        fmt = str(found.input.get("output_format", "jpeg"))
        count = int(found.input.get("num_images", 1))
        images = [
            {
                "url": self.cdn.put_image(f"files/{found.id}/{index}.{fmt}", (width, height), COLOUR, fmt),
                "content_type": f"image/{fmt}",
                "width": width,
                "height": height,
            }
            for index in range(count)
        ]
        flagged = "NSFW" in prompt
        return {
            "images": images,
            "timings": {"inference": INFERENCE_TIME},
            "seed": found.input.get("seed", 0),
            "has_nsfw_concepts": [flagged] * count,
            "prompt": prompt,
        }


@contextmanager
def serve_fake_fal(key: str) -> Iterator[tuple[FakeFal, str]]:
    """Serve a FakeFal (and its CDN) on loopback; yield it and its base URL (the queue's origin)."""
    with serve_fake_cdn("fake-fal-cdn") as cdn:
        fake = FakeFal(key, cdn)
        app = Starlette(
            routes=[
                Route("/{owner}/{app}/requests/{rid}/status", fake.status, methods=["GET"]),
                Route("/{owner}/{app}/requests/{rid}/cancel", fake.cancel, methods=["PUT"]),
                Route("/{owner}/{app}/requests/{rid}", fake.result, methods=["GET"]),
                Route("/{path:path}", fake.submit, methods=["POST"]),
            ]
        )
        with serve_loopback(app, "fake-fal") as origin:
            fake.origin = origin
            yield fake, origin
