"""Filters and pixel plumbing: ``image.blur``, ``image.scale``, ``image.color_mode``,
``image.channel``, ``image.canny``, ``image.infill``, ``image.multiply`` and ``image.levels``.

Small classical operations (Pillow, OpenCV) that graphs chain between the bigger nodes; InvokeAI's
img_blur, img_scale, img_conv, img_chan, canny_edge_detection, infill_*, img_mul, img_lerp and
img_ilerp run as these. None of
them was measured by ``benchmarks/node_memory.py``: each declares the measured figure of the
measured node doing like work (see :data:`FILTER_BYTES_PER_PIXEL`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, MediaSizes, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import parse_colour
from pixelmill.imaging.geometry import Resample, scaled
from pixelmill.imaging.pixel_ops import (
    BlurKind,
    Channel,
    ColourMode,
    blur,
    canny,
    channel,
    colour_mode,
    infill_colour,
    infill_telea,
    infill_tile,
    levels,
    multiply,
)
from pixelmill.nodes.image_common import Colour, ImageOutput, Seed, check_size, load_pixels, save_pixels, transform
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY

# Not measured: a Pillow filter or mode change holds a decode, one or two full copies through
# Pillow and the encoding, like image.reframe's pad (a blur and a copy); the channel and Canny
# work hold a decode and a smaller result, like image.convert; infill works on an RGBA copy and a
# canvas and composites them, like image.composite.
FILTER_BYTES_PER_PIXEL = {
    "image.blur": BYTES_PER_PIXEL["image.reframe"],
    "image.color_mode": BYTES_PER_PIXEL["image.reframe"],
    "image.channel": BYTES_PER_PIXEL["image.convert"],
    "image.canny": BYTES_PER_PIXEL["image.reframe"],
    "image.infill": BYTES_PER_PIXEL["image.composite"],
    "image.multiply": BYTES_PER_PIXEL["image.composite"],
    "image.levels": BYTES_PER_PIXEL["image.reframe"],
}
MAX_SCALE = 16.0
InfillMethod = Literal["color", "tile", "telea"]


class _Filter(BaseNode):
    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    base_cost: ClassVar[int] = 1


@node("image.blur", version="1.0.0", category="image")
class ImageBlur(_Filter):
    """Blur with a Gaussian or a box kernel of ``radius`` pixels (alpha blurred too); 0 copies."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.blur"]

    image: ImageRef = Field(description="The image to blur")
    radius: float = Field(default=8.0, ge=0.0, le=256.0, description="Blur radius in pixels")
    kind: BlurKind = Field(default="gaussian", description="gaussian or box")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(image=await transform(ctx, self.image, blur, self.radius, self.kind))


@node("image.scale", version="1.0.0", category="image")
class ImageScale(_Filter):
    """Resize by a factor: each side times ``factor``, rounded down (at least one pixel)."""

    image: ImageRef = Field(description="The image to scale")
    factor: float = Field(default=2.0, gt=0.0, le=MAX_SCALE, description="Scale factor for both sides")
    resample: Resample = Field(default="bicubic", description="Resampling filter")

    def working_set(self, sizes: MediaSizes) -> int:
        made = int(sizes.image_pixels * self.factor**2)
        return self.base_memory + int(
            BYTES_PER_PIXEL["image.resize"] * sizes.image_pixels + BYTES_PER_PIXEL["image.convert"] * made
        )

    async def run(self, ctx: NodeContext) -> ImageOutput:
        pixels = await load_pixels(ctx, self.image)
        width = max(1, int(pixels.shape[1] * self.factor))
        height = max(1, int(pixels.shape[0] * self.factor))
        check_size(ctx, width, height)
        result = await ctx.run_blocking(scaled, pixels, width, height, self.resample)
        return ImageOutput(image=await save_pixels(ctx, result))


@node("image.color_mode", version="1.0.0", category="image")
class ImageColourMode(_Filter):
    """Convert the colour mode: ``L`` greyscale (luma), ``RGB`` drops alpha, ``RGBA`` adds it."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.color_mode"]

    image: ImageRef = Field(description="The image to convert")
    mode: ColourMode = Field(default="L", description="L, RGB or RGBA")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(image=await transform(ctx, self.image, colour_mode, self.mode))


@node("image.channel", version="1.0.0", category="image")
class ImageChannel(_Filter):
    """One channel (R, G, B or alpha) as a greyscale image, e.g. the alpha as a mask."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.channel"]

    image: ImageRef = Field(description="The image to take the channel from")
    channel: Channel = Field(default="A", description="R, G, B or A")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(image=await transform(ctx, self.image, channel, self.channel))


@node("image.canny", version="1.0.0", category="image")
class ImageCanny(_Filter):
    """Canny edge map: white edges on black, for ControlNet canny models or as a line mask.
    Gradients above ``high_threshold`` start an edge, those above ``low_threshold`` continue one."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.canny"]

    image: ImageRef = Field(description="The image to find edges in")
    low_threshold: int = Field(
        default=100, ge=0, le=255, description="Hysteresis: weakest gradient that continues an edge"
    )
    high_threshold: int = Field(
        default=200, ge=0, le=255, description="Hysteresis: weakest gradient that starts an edge"
    )

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(image=await transform(ctx, self.image, canny, self.low_threshold, self.high_threshold))


@node("image.infill", version="1.0.0", category="image")
class ImageInfill(_Filter):
    """Fill the transparent parts of an image before outpainting: with a solid ``color``, with
    ``tile``\\s cut at random (by ``seed``) from its opaque part, or by ``telea`` inpainting
    (OpenCV's classical fill that continues edges and colours inward; not an AI model)."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.infill"]

    image: ImageRef = Field(description="An image with transparent areas to fill")
    method: InfillMethod = Field(default="telea", description="color, tile or telea")
    color: Colour = Field(default="#7f7f7f", description="color: the fill")
    color_alpha: int = Field(default=255, ge=0, le=255, description="color: the fill's opacity")
    tile_size: int = Field(default=32, ge=1, le=1024, description="tile: the side of each tile in pixels")
    seed: Seed = 0

    async def run(self, ctx: NodeContext) -> ImageOutput:
        if self.method == "color":
            fill = parse_colour(self.color, "color")
            return ImageOutput(image=await transform(ctx, self.image, infill_colour, fill, self.color_alpha))
        if self.method == "tile":
            return ImageOutput(image=await transform(ctx, self.image, infill_tile, self.tile_size, self.seed))
        return ImageOutput(image=await transform(ctx, self.image, infill_telea))


@node("image.multiply", version="1.0.0", category="image")
class ImageMultiply(_Filter):
    """Multiply two images of the same size channel by channel (a multiply blend): white in one
    keeps the other, black gives black. Darkens, e.g. to lay a shadow or a line mask over a picture."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.multiply"]

    image: ImageRef = Field(description="The first image")
    other: ImageRef = Field(description="The second image, the first one's size")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        first = await load_pixels(ctx, self.image)
        second = await load_pixels(ctx, self.other)
        if first.shape[:2] != second.shape[:2]:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The images are {first.shape[1]}x{first.shape[0]} and {second.shape[1]}x{second.shape[0]}; "
                "they must be the same size",
                field="other",
                node_id=ctx.node_id,
            )
        result = await ctx.run_blocking(multiply, first, second)
        return ImageOutput(image=await save_pixels(ctx, result))


@node("image.levels", version="1.0.0", category="image")
class ImageLevels(_Filter):
    """Remap values: ``in_low..in_high`` becomes ``out_low..out_high`` in every channel, values
    outside clamped. 0, 255 -> 64, 192 lowers contrast; 64, 192 -> 0, 255 stretches it."""

    bytes_per_pixel: ClassVar[float] = FILTER_BYTES_PER_PIXEL["image.levels"]

    image: ImageRef = Field(description="The image to remap")
    in_low: int = Field(default=0, ge=0, le=255, description="Input value mapped to out_low")
    in_high: int = Field(default=255, ge=0, le=255, description="Input value mapped to out_high")
    out_low: int = Field(default=0, ge=0, le=255, description="Output for in_low and below")
    out_high: int = Field(default=255, ge=0, le=255, description="Output for in_high and above")

    @model_validator(mode="after")
    def _ordered(self) -> ImageLevels:
        if self.in_low >= self.in_high:
            raise ValueError("in_low must be less than in_high")
        return self

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(
            image=await transform(ctx, self.image, levels, self.in_low, self.in_high, self.out_low, self.out_high)
        )
