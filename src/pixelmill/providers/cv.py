"""``local/cv``: the CPU image operations (OpenCV and Pillow) behind the ImageToImageProvider Protocol.

Callers that speak in provider terms (a dialect's "style this image" request, another provider
falling back to the CPU) get the same operations the image nodes use; each request names one
operation and its parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PIL import Image

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import Pixels, parse_colour
from pixelmill.imaging.background import remove_background, replace_background
from pixelmill.imaging.enhance import enhance
from pixelmill.imaging.geometry import crop, parse_ratio, reframe_crop, reframe_pad, resize, upscale
from pixelmill.imaging.styles import STYLES, apply_style
from pixelmill.providers.base import ImageToImageRequest, ModelInfo
from pixelmill.storage.pixels import image_of, pixels_of

MODEL_ID = "local/cv"


def _style(pixels: Pixels, params: dict[str, Any], seed: int) -> Pixels:
    style = str(params.get("style", "oil_paint"))
    if style not in STYLES:
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown style {style!r}", field="style", allowed=sorted(STYLES))
    return apply_style(pixels, style, strength=float(params.get("strength", 1.0)), seed=seed)


def _enhance(pixels: Pixels, params: dict[str, Any], seed: int) -> Pixels:
    return enhance(
        pixels,
        sharpen=float(params.get("sharpen", 0.5)),
        denoise=float(params.get("denoise", 0.0)),
        local_contrast=float(params.get("local_contrast", 0.3)),
        saturation=float(params.get("saturation", 1.0)),
    )


def _reframe(pixels: Pixels, params: dict[str, Any], seed: int) -> Pixels:
    ratio = parse_ratio(str(params.get("aspect_ratio", "1:1")))
    if params.get("mode", "crop") == "crop":
        return reframe_crop(pixels, ratio)
    fill = params.get("fill", "blur")
    if fill not in ("blur", "edge", "color"):
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown fill {fill!r}", field="fill")
    return reframe_pad(pixels, ratio, fill, parse_colour(str(params.get("color", "#000000"))))


def _upscale(pixels: Pixels, params: dict[str, Any], seed: int) -> Pixels:
    factor = int(params.get("factor", 2))
    if factor not in (2, 4):
        raise PixelmillError(errors.INVALID_INPUT, "factor must be 2 or 4", field="factor")
    return upscale(pixels, factor, float(params.get("sharpen", 0.4)))


def _replace(pixels: Pixels, params: dict[str, Any], seed: int) -> Pixels:
    kind = params.get("background", "color")
    if kind not in ("color", "gradient", "radial"):
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown background {kind!r}", field="background")
    return replace_background(
        pixels,
        kind=kind,
        color=parse_colour(str(params.get("color", "#ececee"))),
        color2=parse_colour(str(params.get("color2", "#bec0c6")), "color2"),
        seed=seed,
    )


OPERATIONS: dict[str, Callable[[Pixels, dict[str, Any], int], Pixels]] = {
    "style": _style,
    "enhance": _enhance,
    "reframe": _reframe,
    "upscale": _upscale,
    "remove_background": lambda pixels, params, seed: remove_background(pixels, seed=seed),
    "replace_background": _replace,
    "resize": lambda pixels, params, seed: resize(
        pixels, params.get("width"), params.get("height"), params.get("mode", "fit")
    ),
    "crop": lambda pixels, params, seed: crop(
        pixels, int(params["x"]), int(params["y"]), int(params["width"]), int(params["height"])
    ),
}


class CvProvider:
    """CPU image-to-image operations; no network, no GPU."""

    id = "local-cv"

    def is_configured(self) -> bool:
        return True

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=MODEL_ID,
                provider="local",
                generation_type="image",
                capabilities=("image-to-image",),
                cost=1,
                description="OpenCV/Pillow edits on the CPU: styles, enhance, reframe, background removal, upscale.",
                sandbox=True,
                limits={"operations": sorted(OPERATIONS), "styles": sorted(STYLES), "max_images": 1},
            )
        ]

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        operation = OPERATIONS.get(request.operation)
        if operation is None:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Unknown operation {request.operation!r}",
                field="operation",
                allowed=sorted(OPERATIONS),
            )

        def work() -> Image.Image:
            try:
                return image_of(operation(pixels_of(request.image), dict(request.params), request.seed))
            except (KeyError, TypeError, ValueError) as exc:
                raise PixelmillError(errors.INVALID_INPUT, f"Bad parameters for {request.operation}: {exc}") from None

        return [await asyncio.to_thread(work)]
