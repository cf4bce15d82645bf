"""Where the subject probably is: spectral-residual saliency (Hou & Zhang, 2007) with a centre prior.

Computed on a 128 px thumbnail: the log amplitude spectrum minus its local average keeps what is
unexpected in the picture; transformed back it lights up the objects that stand out.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelmill.imaging.arrays import Floats, Pixels

_WORK_SIZE = 128


def saliency_map(pixels: Pixels) -> Floats:
    """A saliency map the size of ``pixels``, values 0..1."""
    height, width = pixels.shape[:2]
    rgb = pixels[:, :, :3]
    small = cv2.resize(rgb, (_WORK_SIZE, _WORK_SIZE), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    total = np.zeros((_WORK_SIZE, _WORK_SIZE), dtype=np.float32)
    for channel in range(3):
        spectrum = np.fft.fft2(lab[:, :, channel])
        log_amplitude = np.log(np.abs(spectrum) + 1e-6).astype(np.float32)
        residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
        phase = np.angle(spectrum)
        restored = np.fft.ifft2(np.exp(residual + 1j * phase))
        total += (np.abs(restored) ** 2).astype(np.float32)
    total = cv2.GaussianBlur(total, (0, 0), 3.0)
    # Colour distinctness from the image's mean colour helps large uniform subjects.
    distinct = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2).astype(np.float32)
    distinct = cv2.GaussianBlur(distinct, (0, 0), 4.0)
    ys = np.linspace(-1, 1, _WORK_SIZE, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, _WORK_SIZE, dtype=np.float32)[None, :]
    centre = np.exp(-(xs * xs + ys * ys) / np.float32(0.9)).astype(np.float32)
    combined = (_normalise(total) * 0.6 + _normalise(distinct) * 0.4) * (0.55 + 0.45 * centre)
    return np.asarray(cv2.resize(_normalise(combined), (width, height), interpolation=cv2.INTER_LINEAR))


def _normalise(values: Floats) -> Floats:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values)
    return np.asarray((values - low) / (high - low), dtype=np.float32)


def best_window(weights: Floats, window_w: int, window_h: int) -> tuple[int, int]:
    """Top-left corner of the ``window_w`` x ``window_h`` window holding the most weight."""
    integral = cv2.integral(weights.astype(np.float64))
    sums = (
        integral[window_h:, window_w:]
        - integral[:-window_h, window_w:]
        - integral[window_h:, :-window_w]
        + integral[:-window_h, :-window_w]
    )
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(x), int(y)
