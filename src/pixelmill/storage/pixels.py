"""Pillow images backed by NumPy arrays without paying for the conversion twice.

The MediaStore contract hands nodes Pillow images, while the work itself is NumPy/OpenCV. An
image made by :func:`image_of` remembers the (read-only) array it came from, so
:func:`pixels_of` on it is free; converting a 1024x1024 RGB image costs ~2 ms each way, which is
more than a crop. Images are values: draw on ``image.copy()``, never on an image you were given.
"""

from __future__ import annotations

import weakref

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Pixels = NDArray[np.uint8]

_backing: dict[int, Pixels] = {}


def image_of(pixels: NDArray[np.uint8]) -> Image.Image:
    """A Pillow image of RGB/RGBA/L pixels that remembers them (they become read-only)."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    backing = np.ascontiguousarray(pixels, dtype=np.uint8)
    backing.flags.writeable = False
    image = Image.fromarray(backing)
    key = id(image)
    _backing[key] = backing
    weakref.finalize(image, _backing.pop, key, None)
    return image


def pixels_of(image: Image.Image) -> Pixels:
    """RGB or RGBA pixels of ``image`` (other modes are converted); free for images from image_of."""
    backing = _backing.get(id(image))
    if backing is not None and backing.ndim == 3:
        return backing
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA", "La") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(image, dtype=np.uint8)
