"""Small previews of image outputs, for grids that show many at once (the console's gallery).

A gallery of full-size outputs makes the browser decode megapixels per cell, which stalls scrolling;
a preview is at most 256 px on its long side. Made on first request from the stored bytes and kept
in a bounded in-process cache keyed by the output's content hash (outputs are immutable, so a
cached preview never goes stale); another process makes its own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from threading import Lock

from pixelmill.storage.codecs import decode_image, thumbnail


class OutputPreviews:
    """Previews by content hash, the ``capacity`` most recently used kept."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = Lock()

    async def preview(self, sha256: str, data: bytes, max_pixels: int) -> tuple[bytes, str]:
        """The preview of ``data`` (whose hash is ``sha256``) and its media type."""
        with self._lock:
            hit = self._cache.get(sha256)
            if hit is not None:
                self._cache.move_to_end(sha256)
                return hit
        made = await asyncio.to_thread(_make, data, max_pixels)
        with self._lock:
            self._cache[sha256] = made
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return made


def _make(data: bytes, max_pixels: int) -> tuple[bytes, str]:
    return thumbnail(decode_image(data, max_pixels))
