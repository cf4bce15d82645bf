"""Filters, colour modes, channels, edges and infill: pure functions on pixel arrays.

Each follows what InvokeAI's image invocations do with Pillow and OpenCV (``invocations/image.py``,
``infill.py``, ``canny.py``), so a graph translated from InvokeAI computes the same pixels: Pillow's
Gaussian and box blurs with the radius as given, Pillow's mode conversions (ITU-R 601-2 luma for
``L``), OpenCV's Canny on the RGB image, OpenCV's Telea inpainting with radius 3 for ``cv2``.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageFilter

from pixelmill.imaging.arrays import RGB, Pixels
from pixelmill.storage.pixels import image_of

BlurKind = Literal["gaussian", "box"]
ColourMode = Literal["L", "RGB", "RGBA"]
Channel = Literal["R", "G", "B", "A"]
TELEA_RADIUS = 3


def _pixels(image: Image.Image) -> Pixels:
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def blur(pixels: Pixels, radius: float, kind: BlurKind = "gaussian") -> Pixels:
    """Pillow's blur of every channel, alpha included (as InvokeAI's img_blur)."""
    if radius <= 0:
        return pixels
    kernel = ImageFilter.GaussianBlur(radius) if kind == "gaussian" else ImageFilter.BoxBlur(radius)
    return _pixels(image_of(pixels).filter(kernel))


def _grey(plane: Pixels) -> Pixels:
    """A greyscale plane as pixelmill stores images (RGB, three equal channels: the codecs and
    thumbnails work on RGB/RGBA); decoded, it reads exactly as the one-channel image would."""
    return np.ascontiguousarray(np.dstack([plane] * 3))


def colour_mode(pixels: Pixels, mode: ColourMode) -> Pixels:
    """The image in ``mode``: ``L`` Pillow's luma (grey RGB), ``RGB`` without alpha, ``RGBA`` with it."""
    converted = _pixels(image_of(pixels).convert(mode))
    return _grey(converted) if mode == "L" else converted


def channel(pixels: Pixels, name: Channel) -> Pixels:
    """One channel as a greyscale image; an opaque image's alpha is 255 everywhere."""
    if name == "A" and not (pixels.ndim == 3 and pixels.shape[2] == 4):
        return _grey(np.full(pixels.shape[:2], 255, np.uint8))
    if pixels.ndim == 2:
        return _grey(pixels)
    return _grey(pixels[:, :, "RGBA".index(name)])


def canny(pixels: Pixels, low: int, high: int) -> Pixels:
    """Canny edges of the RGB image as a black and white RGB image (white edges), the control image
    ControlNet's canny models take."""
    rgb = pixels[:, :, :3] if pixels.ndim == 3 else np.dstack([pixels] * 3)
    return _grey(cv2.Canny(np.ascontiguousarray(rgb), low, high))


def _rgba(pixels: Pixels) -> Pixels:
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return pixels
    return colour_mode(pixels, "RGBA")


def infill_colour(pixels: Pixels, colour: RGB, alpha: int = 255) -> Pixels:
    """The image laid over a solid colour: transparent pixels take the colour, half-transparent
    ones mix with it (Pillow's alpha composite, as InvokeAI's infill_rgba)."""
    image = image_of(_rgba(pixels))
    background = Image.new("RGBA", image.size, (*colour, alpha))
    return _pixels(Image.alpha_composite(background, image))


def infill_tile(pixels: Pixels, tile_size: int, seed: int) -> Pixels:
    """Transparent areas filled with tiles cut at random from the fully opaque part of the image,
    the image laid over them. The same seed gives the same tiling; an image without an opaque
    tile-sized area is returned as it is."""
    rgba = _rgba(pixels)
    height, width = rgba.shape[:2]
    opaque = rgba[:, :, 3] == 255
    size = min(tile_size, height, width)
    # Tile origins whose whole tile is opaque: a summed-area table answers each in O(1).
    table = np.pad(opaque.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    ys, xs = np.nonzero(sums == size * size)
    if len(ys) == 0:
        return rgba
    # One random opaque tile per grid cell, gathered for every pixel at once (a loop over cells
    # would take minutes at a tile size of 1 on a large image).
    picks = np.random.default_rng(seed).integers(len(ys), size=(-(-height // size), -(-width // size)))
    rows, cols = np.arange(height, dtype=np.int32), np.arange(width, dtype=np.int32)
    cell = picks[(rows // size)[:, None], (cols // size)[None, :]]
    canvas = rgba[ys[cell] + (rows % size)[:, None], xs[cell] + (cols % size)[None, :]]
    return _pixels(Image.alpha_composite(image_of(canvas), image_of(rgba)))


def infill_telea(pixels: Pixels) -> Pixels:
    """OpenCV's Telea inpainting of every pixel that is not fully opaque (as InvokeAI's
    infill_cv2): a fast classical fill that continues edges and colours inward; opaque result."""
    rgba = _rgba(pixels)
    mask = np.ascontiguousarray((rgba[:, :, 3] < 255).astype(np.uint8) * 255)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2BGR)
    filled = cv2.inpaint(bgr, mask, TELEA_RADIUS, cv2.INPAINT_TELEA)
    rgb = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]))


def _same_channels(a: Pixels, b: Pixels) -> tuple[Pixels, Pixels]:
    """Both as RGBA when either has alpha, else both RGB."""
    if a.shape[2] == b.shape[2]:
        return a, b
    return _rgba(a), _rgba(b)


def multiply(pixels: Pixels, other: Pixels) -> Pixels:
    """Channel by channel product scaled back to 0-255 (Pillow's ImageChops.multiply): white
    leaves the other image as it is, black makes black; alpha multiplies too."""
    a, b = _same_channels(pixels, other)
    product = (a.astype(np.uint16) * b.astype(np.uint16) + 127) // 255
    return np.ascontiguousarray(product.astype(np.uint8))


def levels(pixels: Pixels, in_low: int, in_high: int, out_low: int, out_high: int) -> Pixels:
    """Map ``in_low..in_high`` linearly onto ``out_low..out_high`` in every channel (alpha too),
    clamping outside it: InvokeAI's img_lerp is ``0, 255 -> min, max``, img_ilerp ``min, max -> 0, 255``."""
    span = max(in_high - in_low, 1)
    unit = np.clip((pixels.astype(np.float32) - in_low) / span, 0.0, 1.0)
    return np.ascontiguousarray(np.rint(unit * (out_high - out_low) + out_low).astype(np.uint8))
