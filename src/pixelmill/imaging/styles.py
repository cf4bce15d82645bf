"""The style catalogue: names -> functions, and :func:`apply_style` with strength and alpha handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

from pixelmill.imaging.arrays import (
    RGB,
    Pixels,
    blend,
    luminance,
    noise_field,
    rng_for,
    split_alpha,
    to_float,
    to_uint8,
    vignette,
    with_alpha,
)
from pixelmill.imaging.filters import adjust_saturation, smoothstep
from pixelmill.imaging.styles_paint import oil_paint, sketch, watercolor
from pixelmill.imaging.styles_toon import anime, cartoon, pixel_art, soft_3d

StyleName = Literal[
    "oil_paint", "watercolor", "cartoon", "anime", "soft_3d", "sketch", "pixel_art", "vintage", "duotone", "noir"
]


def vintage(rgb: Pixels, seed: int) -> Pixels:
    """Faded film print: warm sepia cast, lifted blacks, soft focus, grain, vignette and a light leak."""
    height, width = rgb.shape[:2]
    scale = max(height, width) / 1024.0
    rng = rng_for(seed, "vintage")
    image = cv2.GaussianBlur(to_float(rgb), (0, 0), 0.8 * max(0.5, scale))
    sepia = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32)
    toned = np.clip(image @ sepia.T, 0, 1)
    image = adjust_saturation(image * 0.45 + toned * 0.55, 0.8)
    image = 0.07 + 0.85 * image
    image *= np.array([1.04, 0.99, 0.86], dtype=np.float32)
    corner_x, corner_y = (width * 0.9, height * 0.1) if seed % 2 == 0 else (width * 0.1, height * 0.15)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.sqrt((xs - corner_x) ** 2 + (ys - corner_y) ** 2) / max(height, width)
    leak = np.exp(-((distance / 0.35) ** 2))[:, :, None] * np.array([0.35, 0.16, 0.02], dtype=np.float32)
    image = 1.0 - (1.0 - image) * (1.0 - leak)
    image *= vignette((height, width), 0.45)[:, :, None]
    grain = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.7)
    image += grain[:, :, None] * 0.035
    return to_uint8(np.clip(image, 0, 1))


def duotone(rgb: Pixels, seed: int, dark: RGB = (26, 35, 110), light: RGB = (255, 140, 100)) -> Pixels:
    """Lightness mapped onto a two-colour ramp (the shadows' colour to the highlights')."""
    luma = luminance(to_float(rgb))
    low, high = np.percentile(luma, [1, 99])
    t = smoothstep(float(low), float(max(high, low + 1e-3)), luma)
    dark_f = np.asarray(dark, dtype=np.float32) / 255.0
    light_f = np.asarray(light, dtype=np.float32) / 255.0
    return to_uint8(dark_f + (light_f - dark_f) * t[:, :, None])


def noir(rgb: Pixels, seed: int) -> Pixels:
    """High-contrast black and white with deep shadows, grain and a heavy vignette."""
    height, width = rgb.shape[:2]
    luma = luminance(to_float(rgb))
    clahe = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8))
    local = clahe.apply(to_uint8(luma)).astype(np.float32) / 255.0
    tone = smoothstep(0.12, 0.92, local) * vignette((height, width), 0.6)
    grain = noise_field((height, width), 1.5, rng_for(seed, "noir")) * 0.04
    value = np.clip(tone + grain, 0, 1)
    return to_uint8(np.repeat(value[:, :, None], 3, axis=2))


STYLES: dict[str, Callable[[Pixels, int], Pixels]] = {
    "oil_paint": oil_paint,
    "watercolor": watercolor,
    "cartoon": cartoon,
    "anime": anime,
    "soft_3d": soft_3d,
    "sketch": sketch,
    "pixel_art": pixel_art,
    "vintage": vintage,
    "duotone": duotone,
    "noir": noir,
}


def apply_style(
    pixels: Pixels,
    style: str,
    *,
    strength: float = 1.0,
    seed: int = 0,
    dark: RGB | None = None,
    light: RGB | None = None,
) -> Pixels:
    """Restyle the colour channels, mix with the original by ``strength``; alpha is kept as it was."""
    rgb, alpha = split_alpha(pixels)
    rgb = np.ascontiguousarray(rgb)
    if style == "duotone":
        styled = duotone(rgb, seed, dark or (26, 35, 110), light or (255, 140, 100))
    else:
        styled = STYLES[style](rgb, seed)
    return with_alpha(blend(rgb, styled, strength), alpha)
