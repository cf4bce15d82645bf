"""Size and framing: resize, crop, reframe to an exact aspect ratio, upscale."""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import RGB, Pixels
from pixelmill.imaging.enhance import unsharp
from pixelmill.imaging.saliency import best_window, saliency_map

ResizeMode = Literal["fit", "fill", "stretch"]
Resample = Literal["lanczos", "bicubic", "bilinear", "nearest", "area"]
PadFill = Literal["blur", "edge", "color"]

_RESAMPLE = {
    "lanczos": cv2.INTER_LANCZOS4,
    "bicubic": cv2.INTER_CUBIC,
    "bilinear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
    "area": cv2.INTER_AREA,
}


def scaled(pixels: Pixels, width: int, height: int, resample: Resample = "lanczos") -> Pixels:
    """Exactly ``width`` x ``height``; shrinking with Lanczos uses area averaging, which does not alias."""
    if (width, height) == (pixels.shape[1], pixels.shape[0]):
        return pixels
    shrinking = width < pixels.shape[1] and height < pixels.shape[0]
    method = cv2.INTER_AREA if shrinking and resample == "lanczos" else _RESAMPLE[resample]
    return np.asarray(cv2.resize(pixels, (width, height), interpolation=method), dtype=np.uint8)


def resize(
    pixels: Pixels, width: int | None, height: int | None, mode: ResizeMode = "fit", resample: Resample = "lanczos"
) -> Pixels:
    """Resize to a box. ``fit`` keeps the whole image inside it, ``fill`` covers it and crops the
    overflow around the centre, ``stretch`` ignores the aspect ratio. A missing side follows the ratio."""
    src_h, src_w = pixels.shape[:2]
    if width is None and height is None:
        raise PixelmillError(errors.INVALID_INPUT, "Give a width, a height or both", field="width")
    if width is None or height is None:
        factor = (width / src_w) if width is not None else (height or src_h) / src_h
        return scaled(pixels, max(1, round(src_w * factor)), max(1, round(src_h * factor)), resample)
    if mode == "stretch":
        return scaled(pixels, width, height, resample)
    if mode == "fit":
        factor = min(width / src_w, height / src_h)
        return scaled(pixels, max(1, round(src_w * factor)), max(1, round(src_h * factor)), resample)
    factor = max(width / src_w, height / src_h)
    cover = scaled(pixels, max(width, round(src_w * factor)), max(height, round(src_h * factor)), resample)
    top, left = (cover.shape[0] - height) // 2, (cover.shape[1] - width) // 2
    return np.ascontiguousarray(cover[top : top + height, left : left + width])


def crop(pixels: Pixels, x: int, y: int, width: int, height: int) -> Pixels:
    """The rectangle at (x, y); it must lie inside the image."""
    src_h, src_w = pixels.shape[:2]
    if x + width > src_w or y + height > src_h:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"The crop {width}x{height} at ({x}, {y}) extends past the {src_w}x{src_h} image",
            field="width" if x + width > src_w else "height",
        )
    return np.ascontiguousarray(pixels[y : y + height, x : x + width])


def parse_ratio(value: str, field: str = "aspect_ratio") -> tuple[int, int]:
    """``"16:9"`` -> (16, 9), reduced; positive integers only."""
    parts = value.replace("/", ":").split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise PixelmillError(errors.INVALID_INPUT, f"{value!r} is not a ratio like 16:9", field=field)
    rw, rh = int(parts[0]), int(parts[1])
    if rw <= 0 or rh <= 0 or max(rw, rh) / min(rw, rh) > 10:
        raise PixelmillError(errors.INVALID_INPUT, f"{value!r} is outside 1:10 .. 10:1", field=field)
    divisor = math.gcd(rw, rh)
    return rw // divisor, rh // divisor


def ratio_size(width: int, height: int, ratio: tuple[int, int], *, grow: bool) -> tuple[int, int]:
    """The size with exactly ``ratio`` that fits inside (``grow=False``) or covers (``grow=True``) the image."""
    rw, rh = ratio
    units = max(math.ceil(width / rw), math.ceil(height / rh)) if grow else min(width // rw, height // rh)
    if units < 1:
        raise PixelmillError(errors.INVALID_INPUT, "The image is too small for that aspect ratio", field="aspect_ratio")
    return rw * units, rh * units


def reframe_crop(pixels: Pixels, ratio: tuple[int, int]) -> Pixels:
    """Crop to ``ratio`` keeping the most salient window."""
    src_h, src_w = pixels.shape[:2]
    width, height = ratio_size(src_w, src_h, ratio, grow=False)
    if (width, height) == (src_w, src_h):
        return pixels
    x, y = best_window(saliency_map(pixels), width, height)
    return np.ascontiguousarray(pixels[y : y + height, x : x + width])


def reframe_pad(pixels: Pixels, ratio: tuple[int, int], fill: PadFill = "blur", color: RGB = (0, 0, 0)) -> Pixels:
    """Extend the canvas to ``ratio`` around the centred image, filling with a blurred backdrop,
    softened mirrored edges, or a flat colour."""
    src_h, src_w = pixels.shape[:2]
    width, height = ratio_size(src_w, src_h, ratio, grow=True)
    left, top = (width - src_w) // 2, (height - src_h) // 2
    right, bottom = width - src_w - left, height - src_h - top
    channels = pixels.shape[2]
    if fill == "color":
        value = [*color, 255][:channels]
        return np.asarray(
            cv2.copyMakeBorder(pixels, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value), dtype=np.uint8
        )
    if fill == "edge":
        extended = cv2.copyMakeBorder(pixels, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        small = cv2.resize(extended, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(0.5, max(width, height) / 600))
        softened = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        # A heavy blur is cheap at an eighth of the size and looks the same scaled back up.
        small_w, small_h = max(1, width // 8), max(1, height // 8)
        cover = resize(pixels, small_w, small_h, mode="fill", resample="area")
        cover = cv2.GaussianBlur(cover, (0, 0), max(1.0, max(small_w, small_h) / 40))
        softened = cv2.resize(
            cv2.convertScaleAbs(cover, alpha=0.8, beta=0), (width, height), interpolation=cv2.INTER_CUBIC
        )
    canvas = np.array(softened, dtype=np.uint8)
    canvas[top : top + src_h, left : left + src_w] = pixels
    return canvas


def upscale(pixels: Pixels, factor: int, sharpen: float = 0.4) -> Pixels:
    """Lanczos enlargement followed by an unsharp mask scaled to the factor."""
    src_h, src_w = pixels.shape[:2]
    large = np.asarray(
        cv2.resize(pixels, (src_w * factor, src_h * factor), interpolation=cv2.INTER_LANCZOS4), dtype=np.uint8
    )
    if sharpen <= 0:
        return large
    if large.shape[2] == 4:
        return np.dstack([unsharp(np.ascontiguousarray(large[:, :, :3]), sharpen, 0.6 * factor), large[:, :, 3]])
    return unsharp(large, sharpen, 0.6 * factor)
