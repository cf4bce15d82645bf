"""The procedural renderer's layers: sky, clouds or stars, a sun or moon with its glow, fractal
ridges, a city skyline, water that reflects everything above it, then light, vignette and grain.

Everything is vectorised NumPy/OpenCV on float32 RGB in 0..1 and driven by one Generator, so a
scene is a pure function of its SceneSpec and seed. A 1024x1024 render takes ~0.1-0.3 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float32]
Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Palette:
    sky_top: Colour
    sky_horizon: Colour
    sun: Colour
    far: Colour  # the most distant ridge
    near: Colour  # the closest ridge / ground
    water: Colour
    lights: Colour = (1.0, 0.78, 0.45)  # lit windows


@dataclass(frozen=True)
class SceneSpec:
    """What to draw; chosen from the prompt and seed by the provider."""

    palette: Palette
    time_of_day: str  # day | sunset | night | dawn
    ground: str  # mountains | hills | dunes | city
    water: bool
    horizon: float  # fraction of the height
    sun_x: float
    sun_y: float  # fraction of the height above the horizon (0..1 of the sky)
    ridges: int
    clouds: float  # 0..1 coverage
    roughness: float  # ridge jaggedness
    extras: frozenset[str] = field(default_factory=frozenset)


def _mix(a: Colour, b: Colour, t: Floats) -> Floats:
    first = np.asarray(a, dtype=np.float32)
    second = np.asarray(b, dtype=np.float32)
    return np.asarray(first + (second - first) * t[..., None], dtype=np.float32)


def _fbm_1d(length: int, rng: np.random.Generator, octaves: int, roughness: float, base_cells: int) -> Floats:
    """Fractal 1D noise in roughly -1..1: octaves of smoothly interpolated random values."""
    total = np.zeros(length, dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    positions = np.linspace(0.0, 1.0, length, dtype=np.float32)
    for octave in range(octaves):
        cells = base_cells * 2**octave + 1
        values = rng.uniform(-1.0, 1.0, cells).astype(np.float32)
        t = positions * (cells - 1)
        index = np.minimum(t.astype(np.int32), cells - 2)
        frac = t - index
        smooth = frac * frac * (3 - 2 * frac)
        total += amplitude * (values[index] * (1 - smooth) + values[index + 1] * smooth)
        norm += amplitude
        amplitude *= roughness
    return np.asarray(total / norm, dtype=np.float32)


def _fbm_2d(shape: tuple[int, int], rng: np.random.Generator, scale: float, octaves: int = 5) -> Floats:
    """Fractal 2D noise in roughly -1..1 with the largest features ``scale`` pixels across."""
    height, width = shape
    total = np.zeros(shape, dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        feature = max(2.0, scale / 2**octave)
        coarse = rng.uniform(-1, 1, (int(height / feature) + 3, int(width / feature) + 3)).astype(np.float32)
        total += amplitude * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        norm += amplitude
        amplitude *= 0.5
    return np.asarray(total / norm, dtype=np.float32)


def _sky(spec: SceneSpec, shape: tuple[int, int], horizon_px: int, rng: np.random.Generator) -> Floats:
    height, width = shape
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    t = np.asarray(np.clip(ys * height / max(horizon_px, 1), 0, 1) ** 1.6, dtype=np.float32)
    sky = _mix(spec.palette.sky_top, spec.palette.sky_horizon, t)
    if spec.time_of_day == "night":
        stars = np.zeros(shape, np.float32)
        count = int(width * height / 900)
        sx = rng.integers(0, width, count)
        sy = rng.integers(0, max(1, horizon_px), count)
        stars[sy, sx] = rng.uniform(0.3, 1.0, count).astype(np.float32) ** 3
        stars = cv2.GaussianBlur(stars, (0, 0), 0.7) * 4.0
        sky += np.clip(stars, 0, 1)[:, :, None] * (1 - t[:, :, None])
    if spec.clouds > 0:
        base = _fbm_2d(shape, rng, width / 3.0)
        stretched = cv2.resize(base, (width, max(1, height // 3)))
        wisps = cv2.resize(stretched, (width, height), interpolation=cv2.INTER_LINEAR)
        cover = np.clip((wisps + 0.45 - spec.clouds * 0.5) * -3.0 + 1.0, 0, 1)
        cover = np.clip(1.0 - cover, 0, 1) * np.clip(1.2 - t * 0.9, 0, 1)
        lit = _mix(spec.palette.sky_horizon, spec.palette.sun, np.clip(wisps * 0.5 + 0.5, 0, 1))
        shade = np.asarray(spec.palette.sky_top, np.float32) * 0.6 + lit * 0.4
        sky = sky * (1 - 0.75 * cover[:, :, None]) + shade * 0.75 * cover[:, :, None]
    return sky


def _sun(spec: SceneSpec, sky: Floats, horizon_px: int) -> tuple[Floats, tuple[float, float]]:
    height, width = sky.shape[:2]
    cx = spec.sun_x * width
    cy = horizon_px * (1.0 - spec.sun_y)
    radius = (0.035 if spec.time_of_day == "night" else 0.05) * max(width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
    disc = np.clip((radius - distance) / 2.0 + 0.5, 0, 1)
    glow = np.exp(-((distance / (radius * 4.0)) ** 2)) * 0.55 + np.exp(-distance / (radius * 14.0)) * 0.35
    colour = np.asarray(spec.palette.sun, np.float32)
    sky = 1.0 - (1.0 - sky) * (1.0 - glow[:, :, None] * colour)
    disc_colour = np.minimum(colour * 1.25 + 0.15, 1.0)
    sky = sky * (1 - disc[:, :, None]) + disc_colour * disc[:, :, None]
    return sky, (cx, cy)


def _ridges(spec: SceneSpec, image: Floats, horizon_px: int, rng: np.random.Generator) -> Floats:
    height, width = image.shape[:2]
    ys = np.arange(height, dtype=np.float32)[:, None]
    for layer in range(spec.ridges):
        depth = layer / max(1, spec.ridges - 1)  # 0 far .. 1 near
        if spec.ground == "dunes":
            profile = _fbm_1d(width, rng, 3, 0.35, 2)
            amplitude = (0.05 + 0.05 * depth) * height
        elif spec.ground == "hills":
            profile = _fbm_1d(width, rng, 4, 0.4, 2)
            amplitude = (0.06 + 0.06 * depth) * height
        else:
            profile = _fbm_1d(width, rng, 7, spec.roughness, 3)
            amplitude = (0.22 - 0.1 * depth) * height
        baseline = horizon_px - (0.12 - 0.1 * depth) * height * (0.4 if spec.ground != "mountains" else 1.0)
        top = baseline - (profile * 0.5 + 0.5) * amplitude
        inside = np.clip(ys - top[None, :] + 0.5, 0, 1)
        colour = _mix(spec.palette.far, spec.palette.near, np.full((1,), depth, np.float32))[0]
        haze = np.asarray(spec.palette.sky_horizon, np.float32)
        colour = colour * (0.55 + 0.45 * depth) + haze * (0.45 - 0.45 * depth)
        # Light falls on the slopes facing the sun, and the rock has texture.
        smooth_top = cv2.GaussianBlur(top.reshape(1, -1).astype(np.float32), (0, 0), 6.0).ravel()
        slope = np.gradient(smooth_top)[None, :] * (1.0 if spec.sun_x > 0.5 else -1.0)
        below = np.clip((ys - top[None, :]) / max(amplitude, 1.0), 0, 1)
        lit = np.clip(-slope * 0.06, -0.12, 0.12) * np.exp(-below * 6.0)
        texture = _fbm_2d((height, width), rng, width / 10.0, 5) * 0.07 * (0.4 + depth)
        layer_rgb = colour[None, None, :] * (1.0 + lit[:, :, None] + texture[:, :, None] - 0.2 * below[:, :, None])
        image = image * (1 - inside[:, :, None]) + np.clip(layer_rgb, 0, 1) * inside[:, :, None]
    return image


def _city(spec: SceneSpec, image: Floats, horizon_px: int, rng: np.random.Generator) -> Floats:
    height, width = image.shape[:2]
    night = spec.time_of_day in ("night", "sunset")
    for layer in range(2):
        near = layer == 1
        x = 0
        colour = np.asarray(spec.palette.near if near else spec.palette.far, np.float32) * (0.6 if near else 0.85)
        while x < width:
            building_w = int(rng.uniform(0.04, 0.11) * width)
            building_h = int(rng.uniform(0.08, 0.34 if near else 0.42) * height)
            top = max(0, horizon_px - building_h)
            x1 = min(width, x + building_w)
            image[top:horizon_px, x:x1] = colour * rng.uniform(0.85, 1.1)
            if near or night:
                cell = max(4, width // 110)
                rows = np.arange(top + cell, horizon_px - cell, cell * 2)
                cols = np.arange(x + cell, x1 - cell, cell * 2)
                if rows.size and cols.size:
                    on = rng.random((rows.size, cols.size)) < (0.45 if night else 0.2)
                    glow = np.asarray(spec.palette.lights, np.float32) * (1.0 if night else 0.55)
                    for r_index, c_index in zip(*np.nonzero(on), strict=True):
                        ry, cx = int(rows[r_index]), int(cols[c_index])
                        image[ry : ry + cell, cx : cx + cell] = glow
            x = x1 + int(rng.uniform(0.0, 0.015) * width)
    return image


def _water(
    spec: SceneSpec, image: Floats, horizon_px: int, sun: tuple[float, float], rng: np.random.Generator
) -> Floats:
    height, width = image.shape[:2]
    depth = height - horizon_px
    if depth <= 2:
        return image
    ys = np.arange(depth, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    closeness = ys / depth
    waves = np.sin(xs * 0.05 / (0.2 + closeness) + ys * 0.9 / (0.15 + closeness)) * (1.0 + 6.0 * closeness)
    waves += _fbm_2d((depth, width), rng, width / 10.0, 3) * (2.0 + 10.0 * closeness)
    source_y = np.clip(horizon_px - 1 - ys - waves * 0.6, 0, horizon_px - 1).astype(np.float32)
    source_x = np.clip(xs + waves, 0, width - 1).astype(np.float32)
    reflected = cv2.remap(image, source_x, source_y, cv2.INTER_LINEAR)
    tint = np.asarray(spec.palette.water, np.float32)
    reflection = reflected * (0.7 - 0.25 * closeness[:, :, None]) + tint * (0.3 + 0.25 * closeness[:, :, None])
    # Glitter: the sun's path across the ripples.
    path = np.exp(-(((xs - sun[0]) / (0.05 * width * (1 + 3 * closeness))) ** 2))
    glints = _fbm_2d((depth, width), rng, 3.0 + 5.0 * float(depth) / height, 2)
    sparkle = np.clip(glints * 4.0 - 1.4, 0, 1) * path * (0.5 + closeness)
    reflection += sparkle[:, :, None] * np.asarray(spec.palette.sun, np.float32) * 0.8
    image[horizon_px:] = np.clip(reflection, 0, 1)
    return image


def render_scene(spec: SceneSpec, width: int, height: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Render the scene at ``width`` x ``height`` as RGB uint8."""
    shape = (height, width)
    horizon_px = int(spec.horizon * height) if spec.water or spec.ground == "city" else height
    sky_horizon = int(spec.horizon * height)
    image = _sky(spec, shape, sky_horizon, rng)
    image, sun = _sun(spec, image, sky_horizon)
    if spec.ground == "city":
        image = _ridges(replace(spec, ridges=1, ground="hills"), image, sky_horizon, rng)
        image = _city(spec, image, sky_horizon, rng)
    else:
        image = _ridges(spec, image, sky_horizon if spec.water else int(sky_horizon + 0.18 * height), rng)
    if spec.water:
        image = _water(spec, image, sky_horizon, sun, rng)
    elif horizon_px >= height and spec.ground != "city":
        image[sky_horizon + int(0.18 * height) :] *= 0.9
    # Bloom from the brightest parts, then vignette and film grain.
    bright = np.clip(image - 0.7, 0, 1)
    bloom = cv2.GaussianBlur(bright, (0, 0), max(width, height) / 60.0)
    image = 1.0 - (1.0 - image) * (1.0 - bloom * 0.8)
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    image *= (1.0 - 0.35 * np.clip((xs * xs + ys * ys) / 2.0, 0, 1) ** 1.5)[:, :, None]
    grain = rng.standard_normal(shape).astype(np.float32) * 0.018
    image += grain[:, :, None]
    return np.asarray(np.clip(image * 255.0 + 0.5, 0, 255), dtype=np.uint8)
