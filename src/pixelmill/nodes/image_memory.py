"""Working memory of the image and video nodes, measured: the ``bytes_per_pixel`` they declare.

Measured with ``python benchmarks/node_memory.py --megapixels 1 2 4`` (Linux x86-64, CPython 3.11,
the OpenCV and Pillow wheels the project installs): a fresh process per node and size, the real executor
and media store, a stored photograph of 1, 2 and 4 Mpx; the node's working set is the peak resident
memory while it runs minus the resident memory before. A least-squares line through the three sizes
gives a fixed part and bytes per input pixel:

=========================  =========  ===========  =====================
node                       fixed MiB  bytes/pixel  declared bytes/pixel
=========================  =========  ===========  =====================
image.style oil_paint           -2.3        143.1  158
image.style watercolor          57.7        119.8  132
image.style cartoon             41.9        104.4  115
image.style anime               27.5        141.6  156
image.style soft_3d             13.9        109.8  121
image.style sketch              34.6         81.2  90
image.style pixel_art           22.2         10.1  12
image.style vintage             21.1        103.5  114
image.style duotone             -3.3         63.4  70
image.style noir                18.1         67.6  75
image.enhance                   22.8         25.4  28
image.upscale (x2)              18.6         40.1  12 per output px
image.variations (2)            37.8        140.2  its costliest style
image.resize (to 512x512)        9.6          6.4  8
image.crop                       8.0          6.8  8
image.reframe                   28.4         23.8  27
image.convert (jpeg)            10.7          7.0  8
image.remove_background         60.4         12.9  15
image.replace_background        38.9         87.4  97
image.text                      11.1         18.3  21
image.composite                 24.9         33.7  38
image.grid (2)                   8.3          3.4  8 (crop's)
video.from_image               118.0         19.1  22
=========================  =========  ===========  =====================

Declared figures are the measured slopes plus 10 %, rounded up (allocator and content variation);
the fixed parts stay under ``IMAGE_BASE_MEMORY`` (``VIDEO_BASE_MEMORY`` for the encoder's buffers).
``image.upscale`` was measured at factor 2 and declares per *output* pixel (a quarter of its slope
per input pixel); ``image.resize`` adds the ``image.convert`` figure per output pixel (decode,
encode and thumbnail of what it makes); ``image.variations`` (one variant at a time) declares its
costliest style. ``image.composite`` and ``image.grid`` were given the same file twice, which is
decoded once: the composite's figure is dominated by its float work on both inputs, while the
grid, whose cells are small, declares per input image what a crop holds (one decode). Nodes not
measured here that decode their input images for a model or a layout (``image.edit``,
``image.inpaint``, ``image.generate``'s references, ``infographic.card``) declare the
``image.convert`` figure, and ``video.slideshow`` the ``video.from_image`` one; a diffusers
model's own memory is not part of these estimates.

With these figures the costliest edit (``image.style`` oil paint, 158 bytes/pixel) of a
``max_edit_pixels`` image (4096 x 3072 by default) needs 1.9 GiB: within the default budget of a
4 GiB machine (half of it).
"""

from __future__ import annotations

import math

from pixelmill.engine.node import MIB, MediaSizes

# What a node holds besides its pixels: the measured fixed parts were up to 60 MiB for images,
# 118 MiB for a video (the encoder's buffers).
IMAGE_BASE_MEMORY = 64 * MIB
VIDEO_BASE_MEMORY = 128 * MIB


def declared(measured: float) -> float:
    """A measured slope as declared: 10 % over, rounded up to a whole byte."""
    return float(math.ceil(measured * 1.1))


# Measured slopes, bytes per input pixel (per output pixel for upscale).
_STYLES_MEASURED = {
    "oil_paint": 143.1,
    "watercolor": 119.8,
    "cartoon": 104.4,
    "anime": 141.6,
    "soft_3d": 109.8,
    "sketch": 81.2,
    "pixel_art": 10.1,
    "vintage": 103.5,
    "duotone": 63.4,
    "noir": 67.6,
}
_MEASURED = {
    "image.enhance": 25.4,
    "image.upscale": 40.1 / 4,
    "image.resize": 6.4,
    "image.crop": 6.8,
    "image.reframe": 23.8,
    "image.convert": 7.0,
    "image.remove_background": 12.9,
    "image.replace_background": 87.4,
    "image.text": 18.3,
    "image.composite": 33.7,
    "image.grid": 6.8,  # crop's: one decode per image (measured with one file twice, decoded once)
    "video.from_image": 19.1,
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
