"""Working memory of the image and video nodes, measured: the ``bytes_per_pixel`` they declare.

Measured with ``python benchmarks/node_memory.py --megapixels 1 2 4`` (Linux x86-64, CPython 3.11,
the OpenCV and Pillow wheels of the lock file): a fresh process per node and size, the real executor
and media store, a stored photograph of 1, 2 and 4 Mpx; the node's working set is the peak resident
memory while it runs minus the resident memory before. A least-squares line through the three sizes
gives a fixed part and bytes per input pixel:

=========================  =========  ===========  ===============
node                       fixed MiB  bytes/pixel  declared
=========================  =========  ===========  ===============
TABLE
=========================  =========  ===========  ===============

Declared figures are the measured slopes plus 10 %, rounded up (allocator and content variation);
the fixed parts stay under ``IMAGE_BASE_MEMORY``. ``image.upscale`` was measured at factor 2 and
declares per *output* pixel (a quarter of its slope per input pixel); ``image.resize`` adds the
``image.convert`` figure per output pixel (decode, encode and thumbnail of what it makes);
``image.variations`` declares its costliest style. Nodes not measured here that decode their input
images for a model or a layout (``image.edit``, ``image.inpaint``, ``image.generate``'s references,
``infographic.card``, ``video.slideshow``) declare the nearest measured figure named beside them.
"""

from __future__ import annotations

import math

from pixelmill.engine.node import MIB, MediaSizes

# What an image node holds besides its pixels: the measured fixed parts were 2 to 60 MiB.
IMAGE_BASE_MEMORY = 64 * MIB


def declared(measured: float) -> float:
    """A measured slope as declared: 10 % over, rounded up to a whole byte."""
    return float(math.ceil(measured * 1.1))


# Measured slopes, bytes per input pixel (per output pixel for upscale).
_STYLES_MEASURED = {
    "oil_paint": 118.3,
    "watercolor": 114.3,
    "cartoon": 98.8,
    "anime": 145.7,
    "soft_3d": 97.6,
    "sketch": 88.7,
    "pixel_art": 6.0,
    "vintage": 96.2,
    "duotone": 52.8,
    "noir": 62.4,
}
_MEASURED = {
    "image.enhance": 22.3,
    "image.upscale": 44.7 / 4,
    "image.resize": 8.0,
    "image.crop": 6.9,
    "image.reframe": 28.5,
    "image.convert": 6.9,
    "image.remove_background": 5.8,
    "image.replace_background": 82.8,
    "image.text": 15.7,
    "image.composite": 34.3,
    "image.grid": 6.9,
    "video.from_image": 17.4,
}
STYLE_BYTES_PER_PIXEL: dict[str, float] = {style: declared(slope) for style, slope in _STYLES_MEASURED.items()}
BYTES_PER_PIXEL: dict[str, float] = {node: declared(slope) for node, slope in _MEASURED.items()}


def output_pixels(sizes: MediaSizes, width: int | None, height: int | None) -> int:
    """Pixels of a resize of the first input to ``width`` and/or ``height`` (aspect kept when one)."""
    if width is not None and height is not None:
        return width * height
    if not sizes.images:
        return 0
    src_w, src_h = sizes.images[0]
    factor = width / src_w if width is not None else (height or src_h) / src_h
    return round(src_w * factor) * round(src_h * factor)
