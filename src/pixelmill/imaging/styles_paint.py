"""Painted and drawn looks: oil paint, watercolour, pencil sketch.

Sizes (brush width, stroke length, paper grain) scale with the image, so a 512 px and a 2048 px
picture get the same look rather than the same pixel counts.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelmill.imaging.arrays import Floats, Pixels, luminance, noise_field, rng_for, to_float, to_uint8
from pixelmill.imaging.filters import adjust_saturation, flow_angles, kuwahara, relief_shading, smear_along


def _scale(rgb: Pixels) -> float:
    return float(max(rgb.shape[:2])) / 1024.0


def oil_paint(rgb: Pixels, seed: int) -> Pixels:
    """Flat colour patches (Kuwahara), brush strokes that follow the forms, and lit impasto relief."""
    scale = _scale(rgb)
    brush = max(2, round(5 * scale))
    image = to_float(rgb)
    paint = kuwahara(image, brush)
    paint = kuwahara(paint, max(2, brush // 2))
    angles = flow_angles(luminance(paint), sigma=6.0 * brush)
    stroke_length = 4.0 * brush
    paint = smear_along(paint, angles, stroke_length * 0.4, steps=5)
    # Bristle marks: fine noise dragged along the stroke direction.
    rng = rng_for(seed, "oil_paint")
    height, width = angles.shape
    bristles = rng.standard_normal((height, width)).astype(np.float32)
    bristles = cv2.GaussianBlur(bristles, (0, 0), 0.6 * max(1.0, scale))
    streaks = smear_along(bristles, angles, stroke_length, steps=9)
    streaks /= float(streaks.std()) + 1e-6
    # Dabs: strokes start and stop, so the paint thickness varies over a brush-sized scale.
    dabs = smear_along(noise_field((height, width), 2.0 * brush, rng), angles, stroke_length, steps=5)
    relief = 0.18 * streaks + 0.45 * dabs + 1.5 * luminance(paint)
    shade = relief_shading(cv2.GaussianBlur(relief, (0, 0), 0.6), (-0.55, -0.65, 0.9), strength=0.6)
    highlight = np.clip(shade - 0.05, 0, None) ** 2
    painted = paint * (1.0 + 0.3 * shade[:, :, None]) + 0.25 * highlight[:, :, None]
    painted = adjust_saturation(np.clip(painted, 0, 1), 1.18)
    warm = np.array([1.03, 1.0, 0.95], dtype=np.float32)
    return to_uint8(np.clip(painted * warm, 0, 1))


def watercolor(rgb: Pixels, seed: int) -> Pixels:
    """Washes of transparent colour on textured paper, pigment pooling at edges, white paper showing."""
    scale = _scale(rgb)
    height, width = rgb.shape[:2]
    rng = rng_for(seed, "watercolor")
    small = cv2.resize(rgb, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(3):
        small = cv2.bilateralFilter(small, 9, 55, 9)
    wash = to_float(np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8))
    wash = kuwahara(wash, max(2, round(4 * scale)))
    # Wet edges wander: displace the washes by smooth noise.
    amplitude = 4.0 * scale
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    wobble_x = noise_field((height, width), 40 * scale, rng) * amplitude
    wobble_y = noise_field((height, width), 40 * scale, rng) * amplitude
    wash = cv2.remap(wash, xs + wobble_x, ys + wobble_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # Transparent pigment: lighter, slightly less saturated, varying density.
    density = 1.0 + 0.22 * noise_field((height, width), 90 * scale, rng)[:, :, None]
    pigment = (1.0 - wash) * 0.78 * density
    # Pigment pools at the border of each wash: edge darkening from the wash's own gradient.
    luma = luminance(wash)
    edges = cv2.GaussianBlur(luma, (0, 0), 1.2 * max(1.0, scale)) - cv2.GaussianBlur(luma, (0, 0), 5 * max(1, scale))
    pigment *= (1.0 + np.clip(np.abs(edges) * 5.0, 0, 0.8))[:, :, None]
    paper_grain = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 1.1)
    paper_grain += 0.6 * noise_field((height, width), 6 * scale, rng)
    pigment *= (1.0 + 0.18 * paper_grain)[:, :, None]
    paper = np.array([0.99, 0.975, 0.94], dtype=np.float32)
    out = paper * (1.0 - np.clip(pigment, 0, 1))
    out = adjust_saturation(out, 1.1)
    # Faint pencil under-drawing.
    lines = cv2.Canny(rgb, 60, 150)
    pencil = cv2.GaussianBlur(lines.astype(np.float32) / 255.0, (0, 0), 0.6) * 0.18
    return to_uint8(np.clip(out - pencil[:, :, None], 0, 1))


def sketch(rgb: Pixels, seed: int) -> Pixels:
    """Pencil on paper: colour-dodge outlines plus directional hatching in the shadows."""
    scale = _scale(rgb)
    height, width = rgb.shape[:2]
    rng = rng_for(seed, "sketch")
    gray = luminance(to_float(rgb))
    blurred = cv2.GaussianBlur(1.0 - gray, (0, 0), 6.0 * max(0.5, scale))
    dodge = np.clip(gray / np.maximum(1.0 - blurred, 1e-3), 0.0, 1.0)
    outline = dodge**2.2
    darkness = np.clip(1.0 - cv2.GaussianBlur(gray, (0, 0), 2.0 * max(0.5, scale)) * 1.25, 0.0, 1.0)
    hatching = _hatch((height, width), 0.78, scale, rng) * np.clip(darkness * 1.6, 0, 1)
    hatching += _hatch((height, width), -0.6, scale, rng) * np.clip(darkness * 1.6 - 0.7, 0, 1)
    tone = np.clip(outline * (1.0 - 0.55 * hatching), 0, 1)
    grain = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.9) * 0.03
    tone = np.clip(tone + grain, 0, 1)
    paper = np.array([0.98, 0.965, 0.93], dtype=np.float32)
    graphite = np.array([0.16, 0.16, 0.19], dtype=np.float32)
    out = graphite + (paper - graphite) * tone[:, :, None]
    return to_uint8(out)


def _hatch(shape: tuple[int, int], angle: float, scale: float, rng: np.random.Generator) -> Floats:
    """Parallel pencil strokes at ``angle`` radians with broken, uneven lines (values 0..1)."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    spacing = max(3.0, 6.0 * scale)
    across = xs * np.sin(angle) - ys * np.cos(angle)
    wobble = noise_field(shape, 25 * scale, rng) * spacing * 0.35
    lines = 0.5 + 0.5 * np.cos((across + wobble) * (2 * np.pi / spacing))
    breaks = np.clip(noise_field(shape, 12 * scale, rng) * 1.5 + 0.6, 0, 1)
    return np.asarray(np.clip(lines**3 * breaks, 0, 1), dtype=np.float32)
