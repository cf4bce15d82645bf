"""Building blocks of the styles: edge-preserving smoothing, flow-aligned smearing, palettes."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pixelmill.imaging.arrays import Floats, Pixels, luminance


def kuwahara(image: Floats, radius: int) -> Floats:
    """Kuwahara filter: each pixel takes the mean of its least-varied quadrant (flat, painterly patches)."""
    size = radius + 1
    luma = luminance(image)
    best_mean = np.zeros_like(image)
    best_var = np.full(luma.shape, np.inf, dtype=np.float32)
    for anchor in ((0, 0), (radius, 0), (0, radius), (radius, radius)):
        mean = cv2.boxFilter(image, -1, (size, size), anchor=anchor, borderType=cv2.BORDER_REFLECT)
        mean_l = cv2.boxFilter(luma, -1, (size, size), anchor=anchor, borderType=cv2.BORDER_REFLECT)
        mean_l2 = cv2.boxFilter(luma * luma, -1, (size, size), anchor=anchor, borderType=cv2.BORDER_REFLECT)
        variance = mean_l2 - mean_l * mean_l
        better = variance < best_var
        best_var = np.where(better, variance, best_var)
        best_mean = np.where(better[:, :, None], mean, best_mean)
    return np.asarray(best_mean, dtype=np.float32)


def flow_angles(luma: Floats, sigma: float) -> Floats:
    """Per-pixel direction (radians) along edges, from the smoothed structure tensor."""
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    gradient_angle = 0.5 * np.arctan2(2.0 * jxy, jxx - jyy)
    return np.asarray(gradient_angle + np.pi / 2.0, dtype=np.float32)


def smear_along(image: NDArray[np.float32], angles: Floats, length: float, steps: int = 7) -> NDArray[np.float32]:
    """Average ``image`` along each pixel's direction over ``length`` px (line integral convolution)."""
    height, width = angles.shape
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    dx, dy = np.cos(angles), np.sin(angles)
    total = np.zeros_like(image)
    weight_sum = 0.0
    for t in np.linspace(-length / 2.0, length / 2.0, steps, dtype=np.float32):
        weight = float(1.0 - abs(t) / (length / 2.0 + 1.0))
        sampled = cv2.remap(image, xs + dx * t, ys + dy * t, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        total += sampled * weight
        weight_sum += weight
    return np.asarray(total / weight_sum, dtype=np.float32)


def bilateral_smooth(rgb: Pixels, passes: int, sigma_colour: float, sigma_space: float) -> Pixels:
    """Repeated bilateral filtering at half resolution (4x cheaper, the result is smooth anyway)."""
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(passes):
        small = cv2.bilateralFilter(small, 7, sigma_colour, sigma_space)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def palette_kmeans(rgb: Pixels, colours: int, seed: int, sample: int = 6000) -> NDArray[np.float32]:
    """``colours`` representative colours (k-means in Lab on a deterministic sample), as Lab floats."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    picks = lab[rng.choice(len(lab), size=min(sample, len(lab)), replace=False)]
    colours = max(1, min(colours, len(np.unique(picks, axis=0))))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(picks, colours, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    order = np.argsort(centres[:, 0])  # darkest first: a stable order for identical inputs
    return np.asarray(centres[order], dtype=np.float32)


def quantise_to(rgb: Pixels, centres_lab: NDArray[np.float32]) -> Pixels:
    """Each pixel replaced by the nearest palette colour (Lab distance)."""
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    distances = (
        (lab * lab).sum(axis=1, keepdims=True) - 2.0 * lab @ centres_lab.T + (centres_lab * centres_lab).sum(axis=1)
    )
    nearest = np.argmin(distances, axis=1)
    palette_lab = np.clip(np.rint(centres_lab), 0, 255).astype(np.uint8)[None, :, :]
    palette_rgb = cv2.cvtColor(palette_lab, cv2.COLOR_LAB2RGB)[0]
    return np.ascontiguousarray(palette_rgb[nearest].reshape(height, width, 3))


def adjust_saturation(rgb: Floats, factor: float) -> Floats:
    """Scale chroma around each pixel's luma (factor 1 = unchanged, 0 = grey)."""
    luma = luminance(rgb)[:, :, None]
    return np.asarray(np.clip(luma + (rgb - luma) * factor, 0.0, 1.0), dtype=np.float32)


def smoothstep(edge0: float, edge1: float, x: Floats) -> Floats:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), dtype=np.float32)


def relief_shading(height: Floats, light: tuple[float, float, float], strength: float) -> Floats:
    """Lambert shading of a height field lit from ``light`` (x, y, z), centred on 0."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) * strength
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) * strength
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lx, ly, lz = light
    length = float(np.sqrt(lx * lx + ly * ly + lz * lz))
    shade = (-gx * lx - gy * ly + lz) / (norm * length)
    return np.asarray(shade - lz / length, dtype=np.float32)
