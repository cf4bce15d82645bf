"""Size and framing: ``image.resize``, ``image.crop``, ``image.reframe``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, MediaSizes, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import parse_colour
from pixelmill.imaging.geometry import (
    Resample,
    ResizeMode,
    crop,
    parse_ratio,
    ratio_size,
    reframe_crop,
    reframe_pad,
    resize,
)
from pixelmill.nodes.image_common import Colour, ImageOutput, check_size, load_pixels, save_pixels
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY, output_pixels

MAX_SIDE = 16384


@node("image.resize", version="1.0.0", category="image")
class ImageResize(BaseNode):
    """Resize to a width and/or height: ``fit`` inside the box, ``fill`` it (cropping the overflow
    around the centre) or ``stretch``. With one side given the other follows the aspect ratio."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.resize"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to resize")
    width: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Target width in pixels")
    height: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Target height in pixels")
    mode: ResizeMode = Field(default="fit", description="fit, fill or stretch")
    resample: Resample = Field(default="lanczos", description="Resampling filter")

    def working_set(self, sizes: MediaSizes) -> int:
        made = output_pixels(sizes, self.width, self.height)
        return self.base_memory + int(
            self.bytes_per_pixel * sizes.image_pixels + BYTES_PER_PIXEL["image.convert"] * made
        )

    async def run(self, ctx: NodeContext) -> ImageOutput:
        if self.width is None and self.height is None:
            raise PixelmillError(
                errors.INVALID_INPUT, "Give a width, a height or both", field="width", node_id=ctx.node_id
            )
        check_size(ctx, self.width or 1, self.height or 1)
        pixels = await load_pixels(ctx, self.image)
        src_h, src_w = pixels.shape[:2]
        if self.width is None or self.height is None:
            factor = self.width / src_w if self.width else (self.height or src_h) / src_h
            check_size(ctx, round(src_w * factor), round(src_h * factor))
        result = await ctx.run_blocking(lambda: resize(pixels, self.width, self.height, self.mode, self.resample))
        return ImageOutput(image=await save_pixels(ctx, result))


@node("image.crop", version="1.0.0", category="image")
class ImageCrop(BaseNode):
    """Cut out the rectangle at (x, y) of the given size; it must lie inside the image."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.crop"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to crop")
    x: int = Field(default=0, ge=0, le=MAX_SIDE, description="Left edge")
    y: int = Field(default=0, ge=0, le=MAX_SIDE, description="Top edge")
    width: int = Field(ge=1, le=MAX_SIDE, description="Width of the rectangle")
    height: int = Field(ge=1, le=MAX_SIDE, description="Height of the rectangle")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        pixels = await load_pixels(ctx, self.image)
        return ImageOutput(image=await save_pixels(ctx, crop(pixels, self.x, self.y, self.width, self.height)))


@node("image.reframe", version="1.0.0", category="image")
class ImageReframe(BaseNode):
    """Change the aspect ratio exactly: ``crop`` keeps the most salient window (spectral-residual
    saliency), ``pad`` extends the canvas with a blurred backdrop, softened mirrored edges or a colour."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.reframe"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to reframe")
    aspect_ratio: str = Field(default="16:9", pattern=r"^\d{1,4}[:/]\d{1,4}$", description="Target ratio, e.g. 16:9")
    mode: Literal["crop", "pad"] = Field(default="crop", description="Crop to the subject or pad around the image")
    fill: Literal["blur", "edge", "color"] = Field(default="blur", description="pad: how to fill the new area")
    color: Colour = Field(default="#000000", description="pad with fill=color: the colour")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        ratio = parse_ratio(self.aspect_ratio)
        colour = parse_colour(self.color)
        pixels = await load_pixels(ctx, self.image)
        if self.mode == "crop":
            result = await ctx.run_blocking(lambda: reframe_crop(pixels, ratio))
        else:
            check_size(ctx, *ratio_size(pixels.shape[1], pixels.shape[0], ratio, grow=True))
            result = await ctx.run_blocking(lambda: reframe_pad(pixels, ratio, self.fill, colour))
        return ImageOutput(image=await save_pixels(ctx, result))
