"""A fake Replicate predictions API on a loopback port, with its outputs on a separate fake CDN.

It speaks the documented protocol: ``POST /v1/models/{owner}/{name}/predictions`` (official models)
and ``POST /v1/predictions`` (with ``version``) answer 201 with the prediction; ``Prefer: wait`` /
``wait=N`` holds the answer until the prediction finishes when it is fast (:attr:`FakeReplicate.polls`
is 0), else the prediction is ``starting`` and ``GET /v1/predictions/{id}`` moves it through
``processing`` to its end, one poll at a time; ``POST /v1/predictions/{id}/cancel`` cancels it;
``GET /v1/account`` is the cheap authenticated read. Errors are RFC 7807 bodies (``title``,
``detail``, ``status``); a wrong token is a 401.

An image model's output is a list of URLs when ``num_outputs`` was sent, else one URL (as models
differ), in ``output_format`` (default webp, as FLUX answers); a model whose owner or name says
video answers one MP4 URL. A prompt containing ``NSFW`` fails the prediction with Replicate's NSFW
error, ``CRASH`` with a CUDA error. :meth:`FakeReplicate.fail_next` queues whole answers.
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

COLOUR = (30, 160, 90)
VERSION = "5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637"
PREDICT_TIME = 1.25
NSFW_ERROR = "NSFW content detected. Try running it again, or try a different prompt."
CRASH_ERROR = "CUDA out of memory. Tried to allocate 2.00 GiB"
ASPECTS = {"1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344), "3:2": (1216, 832), "2:3": (832, 1216)}


@dataclass
class Prediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    status: str = "starting"
    polls_left: int = 0
    output: Any = None
    error: str | None = None

    def public(self, origin: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "logs": "",
            "output": self.output if self.status == "succeeded" else None,
            "data_removed": False,
            "error": self.error if self.status == "failed" else None,
            "status": self.status,
            "created_at": "2026-12-07T03:00:00.000Z",
            "urls": {
                "get": f"{origin}/v1/predictions/{self.id}",
                "cancel": f"{origin}/v1/predictions/{self.id}/cancel",
            },
        }
        if self.status == "succeeded":
            body["metrics"] = {"predict_time": PREDICT_TIME}
        return body


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """An RFC 7807 body, as Replicate's API answers errors."""
    return JSONResponse({"title": title, "detail": detail, "status": status}, status)


class FakeReplicate(RecordingUpstream):
    """State and behaviour; served by :func:`serve_fake_replicate`. Every request takes the next
    scripted answer (:meth:`fail_next`); creating and reading a prediction answer with it."""

    def __init__(self, key: str, cdn: FakeCdn) -> None:
        super().__init__(key, cdn)
        self.polls = 0  # GETs a prediction needs before it ends; 0: it ends within Prefer: wait
        self.predictions: dict[str, Prediction] = {}

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.key}"

    async def create_official(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        return await self._create(request, f"{owner}/{name}")

    async def create_versioned(self, request: Request) -> Response:
        return await self._create(request, None)

    async def _create(self, request: Request, model: str | None) -> Response:
        scripted, body = await self._record(request, take_scripted=True)
        if not self._authorised(request):
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return problem(422, "Input validation failed", "- input: Invalid type. Expected: object")
        if model is None:
            if not isinstance(body.get("version"), str):
                return problem(422, "Invalid version or not permitted", "- version: version is required")
            model = "acme/versioned-model"
        inputs: dict[str, Any] = body["input"]
        if not inputs.get("prompt"):
            return problem(422, "Input validation failed", "- input.prompt: prompt is required")
        with self.lock:
            prediction = Prediction(
                id=f"pred{next(self.ids):04d}q8r2",
                model=model,
                version=str(body.get("version") or VERSION),
                input=inputs,
            )
            self.predictions[prediction.id] = prediction
        waits = "wait" in request.headers.get("prefer", "")
        if waits and self.polls == 0:
            self._finish(prediction)
        else:
            prediction.polls_left = max(1, self.polls)
        return JSONResponse(prediction.public(self.origin), 201)

    def _finish(self, prediction: Prediction) -> None:
        prompt = str(prediction.input.get("prompt"))
        if "NSFW" in prompt:
            prediction.status, prediction.error = "failed", NSFW_ERROR
            return
        if "CRASH" in prompt:
            prediction.status, prediction.error = "failed", CRASH_ERROR
            return
        prediction.status = "succeeded"
        if "video" in prediction.model or prediction.model.startswith("minimax/"):
            prediction.output = self.cdn.put(f"{prediction.id}/output.mp4", small_mp4(), "video/mp4")
            return
        fmt = str(prediction.input.get("output_format", "webp"))
        size = ASPECTS.get(str(prediction.input.get("aspect_ratio")), (1024, 1024))
        count = prediction.input.get("num_outputs")
        urls = [
            self.cdn.put_image(f"{prediction.id}/out-{index}.{fmt}", size, COLOUR, fmt)
            for index in range(count if isinstance(count, int) else 1)
        ]
        prediction.output = urls if isinstance(count, int) else urls[0]

    async def get(self, request: Request) -> Response:
        scripted, _ = await self._record(request, take_scripted=True)
        if not self._authorised(request):
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        with self.lock:
            prediction = self.predictions.get(request.path_params["id"])
            if prediction is None:
                return problem(404, "Not found", "The requested resource could not be found")
            if prediction.status in ("starting", "processing"):
                prediction.polls_left -= 1
                if prediction.polls_left <= 0:
                    self._finish(prediction)
                else:
                    prediction.status = "processing"
            return JSONResponse(prediction.public(self.origin))

    async def cancel(self, request: Request) -> Response:
        await self._record(request, take_scripted=True)
        if not self._authorised(request):
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        with self.lock:
            prediction = self.predictions.get(request.path_params["id"])
            if prediction is None:
                return problem(404, "Not found", "The requested resource could not be found")
            if prediction.status in ("starting", "processing"):
                prediction.status = "canceled"
            return JSONResponse(prediction.public(self.origin))

    async def account(self, request: Request) -> Response:
        await self._record(request, take_scripted=True)
        if not self._authorised(request):
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        return JSONResponse({"type": "organization", "username": "acme", "name": "Acme", "github_url": None})


@contextmanager
def serve_fake_replicate(key: str) -> Iterator[tuple[FakeReplicate, str]]:
    """Serve a FakeReplicate (and its CDN) on loopback; yield it and its ``/v1`` base URL."""
    with serve_fake_cdn("fake-replicate-cdn") as cdn:
        fake = FakeReplicate(key, cdn)
        app = Starlette(
            routes=[
                Route("/v1/models/{owner}/{name}/predictions", fake.create_official, methods=["POST"]),
                Route("/v1/predictions", fake.create_versioned, methods=["POST"]),
                Route("/v1/predictions/{id}", fake.get, methods=["GET"]),
                Route("/v1/predictions/{id}/cancel", fake.cancel, methods=["POST"]),
                Route("/v1/account", fake.account, methods=["GET"]),
            ]
        )
        with serve_loopback(app, "fake-replicate") as origin:
            fake.origin = origin
            yield fake, f"{origin}/v1"
