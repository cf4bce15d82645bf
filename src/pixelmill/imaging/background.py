"""Cut a subject out of its background (GrabCut seeded by the border, colour and saliency) and put
it in front of a studio backdrop.

The seed: a thin border strip is certainly background; pixels whose colour is far from every
colour on the border, or that stand out in the saliency map, are probably the subject; the rest
probably background. GrabCut refines that on a ~400 px copy, the mask is cleaned (largest parts,
holes filled) and scaled back with a feathered edge.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from pixelmill.imaging.arrays import RGB, Floats, Pixels, split_alpha, vignette
from pixelmill.imaging.saliency import saliency_map

_WORK_SIZE = 400
BackgroundKind = Literal["color", "gradient", "radial"]


def _border_distance(lab: Floats, border: int, seed: int) -> Floats:
    """Lab distance of every pixel to the nearest of a few colours sampled from the border strip."""
    strip = np.concatenate(
        [
            lab[:border].reshape(-1, 3),
            lab[-border:].reshape(-1, 3),
            lab[:, :border].reshape(-1, 3),
            lab[:, -border:].reshape(-1, 3),
        ]
    ).astype(np.float32)
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 15, 1.0)
    clusters = min(6, len(np.unique(strip[:: max(1, len(strip) // 2000)], axis=0)))
    _, _, centres = cv2.kmeans(strip, max(1, clusters), None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    flat = lab.reshape(-1, 3)
    distances = np.sqrt(
        np.maximum((flat * flat).sum(1, keepdims=True) - 2 * flat @ centres.T + (centres * centres).sum(1), 0)
    )
    return np.asarray(distances.min(axis=1).reshape(lab.shape[:2]), dtype=np.float32)


def _clean(mask: Pixels) -> Pixels:
    """Keep the substantial connected parts and fill the holes inside them."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= 0.15 * areas.max()) + 1
    kept = np.isin(labels, keep).astype(np.uint8) * 255
    # Holes: background regions that do not touch the image border.
    height, width = kept.shape
    flood = kept.copy()
    fill_mask = np.zeros((height + 2, width + 2), np.uint8)
    for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)):
        if flood[y, x] == 0:
            cv2.floodFill(flood, fill_mask, (x, y), 128)
    return np.where(flood == 0, 255, kept).astype(np.uint8)


def subject_mask(pixels: Pixels, *, margin: float = 0.03, iterations: int = 4, seed: int = 0) -> Pixels:
    """A 0/255 mask of the subject at the working size (long side ~400 px)."""
    rgb = np.ascontiguousarray(pixels[:, :, :3])
    height, width = rgb.shape[:2]
    factor = min(1.0, _WORK_SIZE / max(height, width))
    small_w, small_h = max(8, round(width * factor)), max(8, round(height * factor))
    small = np.asarray(cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    border = max(2, round(margin * max(small_w, small_h)))
    distinct = _border_distance(lab, border, seed)
    salient = saliency_map(small)
    threshold = max(18.0, float(np.percentile(distinct, 60)))
    probable = (distinct > threshold) | (salient > 0.6)
    mask = np.where(probable, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = (cv2.GC_BGD,) * 4
    if not (mask == cv2.GC_PR_FGD).any():
        mask[small_h // 4 : 3 * small_h // 4, small_w // 4 : 3 * small_w // 4] = cv2.GC_PR_FGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    cv2.grabCut(small, mask, None, background_model, foreground_model, iterations, cv2.GC_INIT_WITH_MASK)
    foreground = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    return _clean(foreground)


def remove_background(
    pixels: Pixels, *, margin: float = 0.03, iterations: int = 4, feather: float = 1.5, seed: int = 0
) -> Pixels:
    """RGBA: the subject opaque, the background transparent, a soft ``feather``-pixel edge."""
    height, width = pixels.shape[:2]
    mask = subject_mask(pixels, margin=margin, iterations=iterations, seed=seed)
    alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    scale = max(height, width) / max(mask.shape)
    sigma = max(0.5, feather * max(1.0, scale / 2))
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    # Re-sharpen the blurred edge around the 50% contour so the edge is soft but not hazy.
    alpha = np.clip((alpha - 127.5) * 1.6 + 127.5, 0, 255).astype(np.uint8)
    _, existing = split_alpha(pixels)
    if existing is not None:
        alpha = np.minimum(alpha, existing)
    return np.ascontiguousarray(np.dstack([pixels[:, :, :3], alpha]))


def backdrop(width: int, height: int, kind: BackgroundKind, color: RGB, color2: RGB) -> Floats:
    """A studio backdrop: flat, a vertical sweep from ``color`` to ``color2``, or a radial spot."""
    first = np.asarray(color, dtype=np.float32) / 255.0
    second = np.asarray(color2, dtype=np.float32) / 255.0
    if kind == "color":
        return np.broadcast_to(first, (height, width, 3)).astype(np.float32)
    if kind == "gradient":
        t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
        return np.asarray(np.broadcast_to(first + (second - first) * t, (height, width, 3)), dtype=np.float32)
    falloff = 1.0 - vignette((height, width), 1.0)
    return np.asarray(first + (second - first) * np.clip(falloff * 1.6, 0, 1)[:, :, None], dtype=np.float32)


def replace_background(
    pixels: Pixels,
    *,
    kind: BackgroundKind = "color",
    color: RGB = (236, 236, 238),
    color2: RGB = (190, 192, 198),
    shadow: float = 0.35,
    seed: int = 0,
) -> Pixels:
    """The subject (the image's alpha, or a fresh cut-out when it has none) over a backdrop, with a
    soft contact shadow of ``shadow`` opacity."""
    _, alpha = split_alpha(pixels)
    if alpha is None:
        pixels = remove_background(pixels, seed=seed)
    height, width = pixels.shape[:2]
    subject = pixels[:, :, :3].astype(np.float32) / 255.0
    coverage = pixels[:, :, 3].astype(np.float32) / 255.0
    canvas = backdrop(width, height, kind, color, color2).copy()
    if shadow > 0:
        offset = max(2, round(0.015 * max(height, width)))
        moved = np.zeros_like(coverage)
        moved[offset:, offset // 2 :] = coverage[:-offset, : width - offset // 2]
        soft = cv2.GaussianBlur(moved, (0, 0), max(2.0, 0.02 * max(height, width)))
        canvas *= (1.0 - shadow * soft)[:, :, None]
    out = subject * coverage[:, :, None] + canvas * (1.0 - coverage[:, :, None])
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
