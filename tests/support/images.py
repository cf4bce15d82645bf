"""Real test pictures: a crop of a photograph shipped by scikit-image, and a synthetic product shot."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def photo_like(width: int, height: int) -> NDArray[np.uint8]:
    """A real photograph (scikit-image's ``astronaut``, public domain, NASA) resized to ``width`` x ``height``."""
    from skimage import data

    picture = np.asarray(data.astronaut(), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA))


def product_shot(size: int = 160) -> NDArray[np.uint8]:
    """A red disc (the subject) on a light, slightly textured studio backdrop."""
    rng = np.random.default_rng(3)
    backdrop = np.linspace(225, 200, size, dtype=np.float32)[:, None, None] * np.ones((1, size, 3), np.float32)
    backdrop += rng.normal(0, 3, (size, size, 1)).astype(np.float32)
    picture = np.clip(backdrop, 0, 255).astype(np.uint8)
    cv2.circle(picture, (size // 2, size // 2), size // 4, (200, 30, 40), -1, lineType=cv2.LINE_AA)
    return picture
