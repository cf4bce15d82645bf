"""Cut-outs and layouts: background removal/replacement, composite, text, contact sheet."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.imaging.arrays import parse_colour
from pixelmill.imaging.background import remove_background, replace_background
from pixelmill.imaging.compose import Anchor, BlendMode, TextMode, TextPosition, composite, contact_sheet, draw_text
from pixelmill.nodes.image_common import Colour, ImageOutput, Seed, check_size, load_pixels, save_pixels, transform
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY


@node("image.remove_background", version="1.0.0", category="image")
class ImageRemoveBackground(BaseNode):
    """Cut the subject out: GrabCut seeded from the border colours and a saliency map. The output
    is RGBA with a transparent background."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.remove_background"]

    base_cost: ClassVar[int] = 2

    image: ImageRef = Field(description="The photo")
    margin: float = Field(default=0.03, ge=0.005, le=0.2, description="Border strip assumed to be background")
    iterations: int = Field(default=4, ge=1, le=10, description="GrabCut refinement rounds")
    feather: float = Field(default=1.5, ge=0.0, le=10.0, description="Edge softness in pixels")
    seed: Seed = 0

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(
            image=await transform(
                ctx,
                self.image,
                remove_background,
                margin=self.margin,
                iterations=self.iterations,
                feather=self.feather,
                seed=self.seed,
            )
        )


@node("image.replace_background", version="1.0.0", category="image")
class ImageReplaceBackground(BaseNode):
    """Put the subject in front of a studio backdrop (flat colour, vertical gradient or radial spot)
    with a soft contact shadow. Uses the image's alpha, or cuts the subject out first."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.replace_background"]

    base_cost: ClassVar[int] = 2

    image: ImageRef = Field(description="A cut-out (RGBA) or a photo")
    background: Literal["color", "gradient", "radial"] = Field(default="color", description="Backdrop kind")
    color: Colour = Field(default="#ececee", description="Backdrop colour (gradient: top; radial: centre)")
    color2: Colour = Field(default="#bec0c6", description="Second colour (gradient: bottom; radial: edge)")
    shadow: float = Field(default=0.35, ge=0.0, le=1.0, description="Opacity of the contact shadow")
    seed: Seed = 0

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(
            image=await transform(
                ctx,
                self.image,
                replace_background,
                kind=self.background,
                color=parse_colour(self.color),
                color2=parse_colour(self.color2, "color2"),
                shadow=self.shadow,
                seed=self.seed,
            )
        )


@node("image.composite", version="1.0.0", category="image")
class ImageComposite(BaseNode):
    """Layer ``overlay`` over ``base`` at an anchor plus an offset, scaled, with opacity and a blend
    mode; the overlay's alpha is respected and the result has the base's size."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.composite"]

    base_cost: ClassVar[int] = 1

    base: ImageRef = Field(description="The bottom layer")
    overlay: ImageRef = Field(description="The top layer")
    anchor: Anchor = Field(default="center", description="Where the overlay sits before the offset")
    x: int = Field(default=0, ge=-16384, le=16384, description="Horizontal offset in pixels")
    y: int = Field(default=0, ge=-16384, le=16384, description="Vertical offset in pixels")
    scale: float = Field(default=1.0, gt=0.0, le=8.0, description="Scale of the overlay")
    opacity: float = Field(default=1.0, ge=0.0, le=1.0, description="Opacity of the overlay")
    blend_mode: BlendMode = Field(default="normal", description="normal, multiply, screen or overlay")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        base = await load_pixels(ctx, self.base)
        overlay = await load_pixels(ctx, self.overlay)
        check_size(ctx, round(overlay.shape[1] * self.scale), round(overlay.shape[0] * self.scale))
        result = await ctx.run_blocking(
            lambda: composite(
                base,
                overlay,
                anchor=self.anchor,
                x=self.x,
                y=self.y,
                scale=self.scale,
                opacity=self.opacity,
                blend_mode=self.blend_mode,
            )
        )
        return ImageOutput(image=await save_pixels(ctx, result))


@node("image.text", version="1.0.0", category="image")
class ImageText(BaseNode):
    """Add text in DejaVu Sans: a ``caption`` bar above or below the image, or an ``overlay`` on a
    translucent band. Long text wraps; ``font_size`` 0 sizes it from the image width."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.text"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image")
    text: str = Field(min_length=1, max_length=500, description="The words")
    mode: TextMode = Field(default="caption", description="caption (adds a bar) or overlay")
    position: TextPosition = Field(default="bottom", description="top, center (overlay only) or bottom")
    font_size: int = Field(default=0, ge=0, le=512, description="Pixels; 0 picks one from the width")
    color: Colour = Field(default="#ffffff", description="Text colour")
    background: Colour = Field(default="#141418", description="Bar or band colour")
    background_opacity: float = Field(default=0.6, ge=0.0, le=1.0, description="overlay: opacity of the band")
    bold: bool = Field(default=True, description="Bold face")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(
            image=await transform(
                ctx,
                self.image,
                draw_text,
                self.text,
                mode=self.mode,
                position=self.position,
                font_size=self.font_size,
                color=parse_colour(self.color),
                background=parse_colour(self.background, "background"),
                background_opacity=self.background_opacity,
                bold=self.bold,
            )
        )


@node("image.grid", version="1.0.0", category="image")
class ImageGrid(BaseNode):
    """A contact sheet: the images fitted into equal square cells, row by row, optionally labelled."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.grid"]

    base_cost: ClassVar[int] = 1

    images: list[ImageRef] = Field(min_length=1, max_length=64, description="The images, in order")
    columns: int = Field(default=0, ge=0, le=16, description="Cells per row; 0 makes the sheet about square")
    cell_size: int = Field(default=256, ge=32, le=1024, description="Side of a cell in pixels")
    gap: int = Field(default=8, ge=0, le=128, description="Space between and around cells")
    background: Colour = Field(default="#f5f5f5", description="Sheet colour")
    labels: list[str] = Field(default_factory=list, max_length=64, description="Optional caption per image")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        images = [await load_pixels(ctx, ref) for ref in self.images]
        ctx.raise_if_cancelled()
        background = parse_colour(self.background, "background")
        result = await ctx.run_blocking(
            lambda: contact_sheet(
                images,
                columns=self.columns,
                cell_size=self.cell_size,
                gap=self.gap,
                background=background,
                labels=self.labels or None,
            )
        )
        return ImageOutput(image=await save_pixels(ctx, result))
