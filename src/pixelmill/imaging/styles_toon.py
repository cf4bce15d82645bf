"""Graphic looks: cartoon, anime cel shading, soft 3D, pixel art."""

from __future__ import annotations

import cv2
import numpy as np

from pixelmill.imaging.arrays import Pixels, luminance, noise_field, rng_for, to_float, to_uint8, vignette
from pixelmill.imaging.filters import (
    adjust_saturation,
    bilateral_smooth,
    palette_kmeans,
    quantise_to,
    relief_shading,
    smoothstep,
)


def _scale(rgb: Pixels) -> float:
    return float(max(rgb.shape[:2])) / 1024.0


def cartoon(rgb: Pixels, seed: int) -> Pixels:
    """Flat colour regions from a small palette with bold ink outlines."""
    scale = _scale(rgb)
    smooth = bilateral_smooth(rgb, passes=5, sigma_colour=45, sigma_space=7)
    boosted = to_uint8(adjust_saturation(to_float(smooth), 1.3))
    flat = quantise_to(boosted, palette_kmeans(boosted, 10, seed))
    flat = cv2.medianBlur(flat, 5 if scale >= 0.75 else 3)
    gray = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY)
    gray = cv2.medianBlur(gray, 7)
    block = max(5, (round(9 * scale) // 2) * 2 + 1)
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 4)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) if scale >= 0.75 else ink
    ink_f = cv2.GaussianBlur(ink.astype(np.float32) / 255.0, (0, 0), 0.7)
    return to_uint8(to_float(flat) * ink_f[:, :, None])


def anime(rgb: Pixels, seed: int) -> Pixels:
    """Cel shading: clean shapes, lightness in a few crisp bands, vivid colour, thin coloured line art."""
    scale = _scale(rgb)
    smooth = bilateral_smooth(rgb, passes=6, sigma_colour=35, sigma_space=9)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB).astype(np.float32)
    lightness = lab[:, :, 0] / 255.0
    bands = 4.0
    position = lightness * bands
    base = np.floor(position)
    # Crisp but anti-aliased steps between the bands.
    stepped = (base + smoothstep(0.42, 0.58, position - base)) / bands
    lab[:, :, 0] = np.clip(0.15 + 0.9 * stepped, 0, 1) * 255.0
    chroma_gain = np.float32(1.35)
    lab[:, :, 1:] = 128.0 + (lab[:, :, 1:] - 128.0) * chroma_gain
    cel = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    cel_f = to_float(cel)
    # Line art from a difference of Gaussians, drawn in a dark shade of the local colour.
    luma = luminance(to_float(smooth))
    sigma = 1.0 * max(0.75, scale)
    dog = cv2.GaussianBlur(luma, (0, 0), sigma) - cv2.GaussianBlur(luma, (0, 0), sigma * 1.6)
    lines = np.clip((-dog - 0.008) * 45.0, 0, 1)
    line_colour = cel_f * 0.25
    out = cel_f * (1 - lines[:, :, None]) + line_colour * lines[:, :, None]
    # A little bloom on the highlights.
    glow = cv2.GaussianBlur(np.clip(out - 0.75, 0, 1), (0, 0), 8 * max(0.5, scale))
    out = 1.0 - (1.0 - out) * (1.0 - 0.6 * glow)
    return to_uint8(np.clip(out, 0, 1))


def soft_3d(rgb: Pixels, seed: int) -> Pixels:
    """Smooth, rounded, toy-like surfaces with soft studio light and a warm glow."""
    scale = _scale(rgb)
    smooth = bilateral_smooth(rgb, passes=8, sigma_colour=30, sigma_space=11)
    image = to_float(smooth)
    image = image * 0.7 + cv2.GaussianBlur(image, (0, 0), 3 * max(0.5, scale)) * 0.3
    luma = luminance(image)
    height_field = cv2.GaussianBlur(luma, (0, 0), 10 * max(0.5, scale))
    shade = relief_shading(height_field, (-0.4, -0.7, 0.6), strength=40.0)
    image = image * (1.0 + 0.5 * np.clip(shade, -0.6, 0.6)[:, :, None])
    # Rounded specular sheen and bloom.
    sheen = cv2.GaussianBlur(np.clip(luma - 0.6, 0, 1), (0, 0), 12 * max(0.5, scale))
    image = 1.0 - (1.0 - image) * (1.0 - 0.55 * sheen[:, :, None])
    image = adjust_saturation(np.clip(image, 0, 1), 1.3)
    curve = smoothstep(-0.05, 1.05, image)
    warm = np.array([1.04, 1.0, 0.96], dtype=np.float32)
    out = curve * warm * vignette(luma.shape, 0.18)[:, :, None]
    rng = rng_for(seed, "soft_3d")
    out += 0.01 * noise_field(luma.shape, 3, rng)[:, :, None]
    return to_uint8(np.clip(out, 0, 1))


def pixel_art(rgb: Pixels, seed: int) -> Pixels:
    """Big square pixels in a 16-colour palette with a light ordered dither."""
    height, width = rgb.shape[:2]
    block = max(2, round(max(height, width) / 96))
    small_w, small_h = max(1, width // block), max(1, height // block)
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA)
    vivid = to_float(small)
    vivid = adjust_saturation(vivid, 1.25)
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32) / 16.0 - 0.47
    tiled = np.tile(bayer, (small_h // 4 + 1, small_w // 4 + 1))[:small_h, :small_w]
    dithered = to_uint8(np.clip(vivid + tiled[:, :, None] * 0.06, 0, 1))
    palette = palette_kmeans(to_uint8(vivid), 16, seed, sample=small_w * small_h)
    quantised = quantise_to(dithered, palette)
    return np.ascontiguousarray(cv2.resize(quantised, (width, height), interpolation=cv2.INTER_NEAREST))
