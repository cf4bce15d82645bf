"""A fake xAI Images API on a loopback port: the documented JSON shapes of ``/v1/images/generations``
and ``/v1/images/edits`` (input images as ``{url}`` data URIs), xAI's own error body
``{"code", "error"}``, real PNG bytes, and a record of every request it received.

Behaviour follows the real API where pixelmill depends on it: a wrong key is an HTTP 400 "Incorrect
API key provided: xa***yz" (not a 401); ``size`` is refused (xAI takes ``aspect_ratio`` and
``resolution``); the image's long side is 1024 (``1k``) or 2048 (``2k``) at the asked aspect ratio.
A prompt containing ``FORBIDDEN`` gets an item with ``respect_moderation: false`` and no image,
``BLOCKED`` an empty ``data`` with a ``block_reason``. With :attr:`FakeXAI.data_uri_prefix` the
``b64_json`` carries a ``data:image/png;base64,`` prefix, as older answers did. Tests queue answers
with :meth:`FakeXAI.fail_next`, served first, in order.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback import serve_loopback

COLOUR = (240, 90, 20)  # the fake's images are this colour, so a test can tell them apart
MODELS = ("grok-imagine-image", "grok-imagine-image-quality")
COST_TICKS = 200_000_000  # usage.cost_in_usd_ticks of every image answer
INVALID_ARGUMENT = "Client specified an invalid argument"


@dataclass
class Received:
    """One request as the fake saw it."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any]


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


@contextmanager
def serve_fake_xai(key: str) -> Iterator[tuple[FakeXAI, str]]:
    """Serve a FakeXAI on 127.0.0.1 (an ephemeral port); yield it and its ``/v1`` base URL."""
    fake = FakeXAI(key)
    app = Starlette(
        routes=[
            Route("/v1/images/{kind}", fake.handle, methods=["POST"]),
            Route("/v1/models", fake.list_models, methods=["GET"]),
        ]
    )
    with serve_loopback(app, "fake-xai") as origin:
        yield fake, f"{origin}/v1"
