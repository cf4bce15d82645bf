"""Image bytes <-> pixel arrays, and thumbnails.

Pixels are NumPy ``uint8`` arrays in RGB or RGBA order. PNG, JPEG and WebP go through OpenCV,
which decodes and encodes them several times faster than Pillow (MEASURED.md: a 1024x1024 PNG
costs ~40 ms in OpenCV's encoder against ~230 ms in Pillow's default); every other format goes
through Pillow. The pixel limit is checked from the header before anything is decoded.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.storage.media import open_image_header, refuse_heif, sniff_mime

Pixels = NDArray[np.uint8]
ImageFormat = Literal["png", "jpeg", "webp"]

FORMAT_MIME: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
THUMBNAIL_SIZE = 256


def _from_opencv(decoded: NDArray[np.uint8] | NDArray[np.uint16]) -> Pixels:
    if decoded.dtype == np.uint16:
        decoded = np.asarray(decoded // 256, dtype=np.uint8)
    if decoded.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_GRAY2RGB))
    channels = decoded.shape[2]
    if channels == 4:
        return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA))
    return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))


def _from_pillow(image: Image.Image) -> Pixels:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.load()
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PixelmillError(errors.INVALID_IMAGE, f"The image could not be decoded: {exc}") from None
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    converted = image.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(converted, dtype=np.uint8)


def decode_image(data: bytes, max_pixels: int) -> Pixels:
    """Decode stored image bytes to RGB/RGBA pixels, refusing canvases over ``max_pixels``."""
    mime = sniff_mime(data)
    if mime is not None:
        refuse_heif(mime)
    header = open_image_header(data, max_pixels)
    if mime in ("image/png", "image/jpeg", "image/webp"):
        # JPEG without IMREAD_UNCHANGED lets OpenCV apply the EXIF orientation, as cameras expect.
        flags = cv2.IMREAD_COLOR if mime == "image/jpeg" else cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        if decoded is None:
            raise PixelmillError(errors.INVALID_IMAGE, "The image could not be decoded")
        return _from_opencv(decoded)
    return _from_pillow(header)


def flatten_alpha(pixels: Pixels, background: tuple[int, int, int] = (255, 255, 255)) -> Pixels:
    """Composite RGBA over a solid colour; RGB passes through unchanged."""
    if pixels.shape[2] != 4:
        return pixels
    alpha = pixels[:, :, 3:4].astype(np.float32) / 255.0
    colour = np.asarray(background, dtype=np.float32)
    mixed = pixels[:, :, :3].astype(np.float32) * alpha + colour * (1.0 - alpha)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def _to_bgr(pixels: Pixels) -> Pixels:
    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return np.asarray(cv2.cvtColor(pixels, code), dtype=np.uint8)


def encode_image(pixels: Pixels, format: ImageFormat = "png", quality: int | None = None) -> bytes:
    """Encode pixels; JPEG drops alpha by compositing over white. ``quality`` is 1..100 (JPEG, WebP)."""
    if format == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, quality or 90]
        ok, buffer = cv2.imencode(".jpg", _to_bgr(flatten_alpha(pixels)), params)
    elif format == "webp":
        ok, buffer = cv2.imencode(".webp", _to_bgr(pixels), [cv2.IMWRITE_WEBP_QUALITY, min(quality or 90, 100)])
    else:
        ok, buffer = cv2.imencode(".png", _to_bgr(pixels))
    if not ok:
        raise PixelmillError(errors.INTERNAL_ERROR, f"Encoding {format} failed")
    return bytes(buffer)


def thumbnail(pixels: Pixels, size: int = THUMBNAIL_SIZE) -> tuple[bytes, str]:
    """A preview at most ``size`` px on its long side: JPEG when opaque, WebP when it has alpha."""
    height, width = pixels.shape[:2]
    scale = min(1.0, size / max(height, width))
    if scale < 1.0:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = np.asarray(cv2.resize(pixels, target, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    if pixels.shape[2] == 4:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "WEBP", quality=80, method=0)
        return buffer.getvalue(), "image/webp"
    ok, encoded = cv2.imencode(".jpg", _to_bgr(pixels), [cv2.IMWRITE_JPEG_QUALITY, 82])
    if not ok:
        raise PixelmillError(errors.INTERNAL_ERROR, "Encoding a thumbnail failed")
    return bytes(encoded), "image/jpeg"
