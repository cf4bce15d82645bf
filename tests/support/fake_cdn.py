"""A file host on its own loopback port, standing in for an upstream's CDN (Replicate's and fal's
outputs live on another host than their API): it serves the files a fake upstream put on it, real
PNG/JPEG/WebP and MP4 bytes, and records every request, so a test can see the key never reached it."""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pixelmill.providers.video_encode import Mp4Writer
from tests.support.loopback import serve_loopback

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


@dataclass
class CdnRequest:
    path: str
    headers: dict[str, str]


@dataclass
class FakeCdn:
    origin: str = ""
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    received: list[CdnRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, path: str, data: bytes, content_type: str) -> str:
        """Host ``data`` at ``/path``; its absolute URL."""
        with self.lock:
            self.files[path] = (data, content_type)
        return f"{self.origin}/{path}"

    def put_image(self, path: str, size: tuple[int, int], colour: tuple[int, int, int], fmt: str) -> str:
        buffer = io.BytesIO()
        Image.new("RGB", size, colour).save(buffer, format="JPEG" if fmt == "jpg" else fmt.upper())
        return self.put(path, buffer.getvalue(), IMAGE_TYPES[fmt])

    async def serve(self, request: Request) -> Response:
        path = request.path_params["path"]
        with self.lock:
            self.received.append(CdnRequest(path, dict(request.headers)))
            found = self.files.get(path)
        if found is None:
            return Response("Not Found", 404)
        return Response(found[0], media_type=found[1])


@functools.cache
def small_mp4() -> bytes:
    """A real H.264 MP4: 64x48, 6 frames at 6 fps, one second."""
    with Mp4Writer((64, 48), 6) as writer:
        for step in range(6):
            writer.write(Image.new("RGB", (64, 48), (40 * step, 100, 200)))
        return writer.finish()


@contextmanager
def serve_fake_cdn(name: str) -> Iterator[FakeCdn]:
    cdn = FakeCdn()
    app = Starlette(routes=[Route("/{path:path}", cdn.serve, methods=["GET"])])
    with serve_loopback(app, name) as origin:
        cdn.origin = origin
        yield cdn
