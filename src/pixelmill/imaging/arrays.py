"""Small helpers shared by the image operations: alpha handling, float conversion, colours."""

from __future__ import annotations

import re

import cv2
import numpy as np
from numpy.typing import NDArray

from pixelmill import errors
from pixelmill.errors import PixelmillError

Pixels = NDArray[np.uint8]
Floats = NDArray[np.float32]
RGB = tuple[int, int, int]

_NAMED: dict[str, RGB] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "red": (220, 40, 40),
    "green": (40, 160, 70),
    "blue": (40, 90, 220),
    "yellow": (245, 210, 60),
    "orange": (245, 140, 40),
    "purple": (130, 60, 170),
    "pink": (240, 130, 170),
    "studio": (236, 236, 238),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
COLOUR_PATTERN = r"^(#?[0-9a-fA-F]{6}|#?[0-9a-fA-F]{3}|[a-z]+)$"


def parse_colour(value: str, field: str = "color") -> RGB:
    """``#rrggbb``, ``#rgb`` or a few names; anything else is INVALID_INPUT naming ``field``."""
    named = _NAMED.get(value.strip().lower())
    if named is not None:
        return named
    match = _HEX.match(value.strip())
    if match is None:
        raise PixelmillError(errors.INVALID_INPUT, f"{value!r} is not a colour (#rrggbb)", field=field)
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def split_alpha(pixels: Pixels) -> tuple[Pixels, Pixels | None]:
    """RGB channels and the alpha channel (None when opaque)."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return pixels[:, :, :3], pixels[:, :, 3]
    return pixels, None


def with_alpha(rgb: Pixels, alpha: Pixels | None) -> Pixels:
    if alpha is None:
        return np.ascontiguousarray(rgb)
    return np.ascontiguousarray(np.dstack([rgb, alpha]))


def to_float(pixels: Pixels) -> Floats:
    return pixels.astype(np.float32) * np.float32(1.0 / 255.0)


def to_uint8(values: NDArray[np.floating]) -> Pixels:
    return np.asarray(np.clip(values * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def luminance(rgb: Floats) -> Floats:
    """Rec. 709 luma of a float RGB image, shape (h, w)."""
    weights = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return np.asarray(rgb @ weights, dtype=np.float32)


def blend(base: Pixels, top: Pixels, amount: float) -> Pixels:
    """``base`` mixed toward ``top`` by ``amount`` (0 keeps base, 1 gives top)."""
    if amount >= 1.0:
        return top
    if amount <= 0.0:
        return base
    return np.asarray(cv2.addWeighted(base, 1.0 - amount, top, amount, 0.0), dtype=np.uint8)


def ensure_rgb(pixels: Pixels) -> Pixels:
    return pixels[:, :, :3] if pixels.shape[2] == 4 else pixels


def rng_for(seed: int, salt: str) -> np.random.Generator:
    """A generator that depends only on the seed and a label, so each operation draws its own stream."""
    digest = sum((i + 1) * ord(c) for i, c in enumerate(salt))
    return np.random.default_rng([seed & 0xFFFFFFFF, digest])


def noise_field(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> Floats:
    """Smooth value noise in [-1, 1] with features about ``scale`` pixels across."""
    height, width = shape
    cells_y = max(2, int(height / max(scale, 1.0)) + 2)
    cells_x = max(2, int(width / max(scale, 1.0)) + 2)
    coarse = rng.uniform(-1.0, 1.0, (cells_y, cells_x)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(field, -1.0, 1.0), dtype=np.float32)


def vignette(shape: tuple[int, int], strength: float) -> Floats:
    """A multiplier darkening toward the corners (1 at the centre)."""
    height, width = shape
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    radius = np.sqrt(xs * xs + ys * ys) / np.sqrt(np.float32(2.0))
    return np.asarray(1.0 - strength * np.clip(radius, 0, 1) ** 2.2, dtype=np.float32)
