"""Photo clean-up: denoise, local contrast (CLAHE), saturation, sharpening, in that order."""

from __future__ import annotations

import cv2
import numpy as np

from pixelmill.imaging.arrays import Pixels, split_alpha, to_float, to_uint8, with_alpha
from pixelmill.imaging.filters import adjust_saturation


def unsharp(rgb: Pixels, amount: float, sigma: float) -> Pixels:
    """Unsharp mask: add back ``amount`` of the detail removed by a Gaussian of ``sigma``."""
    if amount <= 0:
        return rgb
    blurred = cv2.GaussianBlur(rgb, (0, 0), sigma)
    return np.asarray(cv2.addWeighted(rgb, 1.0 + amount, blurred, -amount, 0), dtype=np.uint8)


def enhance(
    pixels: Pixels,
    *,
    sharpen: float = 0.5,
    denoise: float = 0.0,
    local_contrast: float = 0.3,
    saturation: float = 1.0,
) -> Pixels:
    """Each control at 0 (1 for saturation) leaves the image as it was."""
    rgb, alpha = split_alpha(pixels)
    out = np.ascontiguousarray(rgb)
    if denoise > 0:
        strength = 3.0 + 12.0 * denoise
        out = np.asarray(cv2.fastNlMeansDenoisingColored(out, None, strength, strength, 5, 15), dtype=np.uint8)
    if local_contrast > 0:
        lab = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)
        clahe = cv2.createCLAHE(clipLimit=1.0 + 3.0 * local_contrast, tileGridSize=(8, 8))
        lightness = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
        mixed = cv2.addWeighted(lab[:, :, 0], 1.0 - local_contrast, lightness, local_contrast, 0)
        lab = np.dstack([mixed, lab[:, :, 1], lab[:, :, 2]])
        out = np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), dtype=np.uint8)
    if saturation != 1.0:
        out = to_uint8(adjust_saturation(to_float(out), saturation))
    if sharpen > 0:
        sigma = max(0.8, max(out.shape[:2]) / 1024.0)
        out = unsharp(out, sharpen, sigma)
    return with_alpha(out, alpha)
