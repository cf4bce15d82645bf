"""Restyling and clean-up: ``image.style``, ``image.enhance``, ``image.upscale``, ``image.variations``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, MediaSizes, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import Pixels, parse_colour
from pixelmill.imaging.enhance import enhance
from pixelmill.imaging.geometry import upscale
from pixelmill.imaging.styles import StyleName, apply_style
from pixelmill.nodes.image_common import (
    Colour,
    ImageOutput,
    ImagesOutput,
    Seed,
    check_size,
    load_pixels,
    save_pixels,
    transform,
)
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY, STYLE_BYTES_PER_PIXEL

DEFAULT_VARIATIONS: tuple[StyleName, ...] = ("soft_3d", "watercolor", "vintage", "cartoon", "duotone", "oil_paint")


@node("image.style", version="1.0.0", category="image")
class ImageStyle(BaseNode):
    """Restyle an image on the CPU: oil paint, watercolor, cartoon, anime, soft 3D, pencil sketch,
    pixel art, vintage film, duotone or noir. ``strength`` mixes the style with the original."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY

    base_cost: ClassVar[int] = 2

    image: ImageRef = Field(description="The image to restyle")
    style: StyleName = Field(default="oil_paint", description="The look")
    strength: float = Field(default=1.0, ge=0.0, le=1.0, description="0 keeps the original, 1 is the full style")
    seed: Seed = 0
    color_dark: Colour = Field(default="#1a236e", description="duotone: the shadows' colour")
    color_light: Colour = Field(default="#ff8c64", description="duotone: the highlights' colour")
    mask: ImageRef | None = Field(
        default=None,
        description="Restyle only where this image is white (black keeps the original), the image's size",
    )

    def working_set(self, sizes: MediaSizes) -> int:
        return self.base_memory + int(STYLE_BYTES_PER_PIXEL[self.style] * sizes.image_pixels)

    async def run(self, ctx: NodeContext) -> ImageOutput:
        dark = parse_colour(self.color_dark, "color_dark")
        light = parse_colour(self.color_light, "color_light")
        if self.mask is None:
            return ImageOutput(
                image=await transform(
                    ctx,
                    self.image,
                    apply_style,
                    self.style,
                    strength=self.strength,
                    seed=self.seed,
                    dark=dark,
                    light=light,
                )
            )
        pixels = await load_pixels(ctx, self.image)
        mask = await load_pixels(ctx, self.mask)
        if mask.shape[:2] != pixels.shape[:2]:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The mask is {mask.shape[1]}x{mask.shape[0]}, the image {pixels.shape[1]}x{pixels.shape[0]}; "
                "they must be the same size",
                field="mask",
                node_id=ctx.node_id,
            )
        styled = await ctx.run_blocking(
            apply_style, pixels, self.style, strength=self.strength, seed=self.seed, dark=dark, light=light
        )
        ctx.raise_if_cancelled()
        return ImageOutput(image=await save_pixels(ctx, masked(pixels, styled, mask)))


def masked(original: Pixels, edited: Pixels, mask: Pixels) -> Pixels:
    """``edited`` where ``mask`` is white, ``original`` where it is black, mixed in between (the
    convention of ``image.inpaint``); the mask's alpha is ignored and the original's alpha kept."""
    grey = mask if mask.ndim == 2 else mask[..., :3].mean(axis=-1)
    weight = (grey.astype(np.float32) / 255)[..., None]
    channels = min(3, original.shape[-1], edited.shape[-1])
    mixed = original[..., :channels] * (1 - weight) + edited[..., :channels] * weight
    result = original.copy()
    result[..., :channels] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return result


@node("image.enhance", version="1.0.0", category="image")
class ImageEnhance(BaseNode):
    """Clean up a photo: denoise, local contrast (CLAHE), saturation, then sharpen. Each control at
    its neutral value (0, or 1 for saturation) leaves that step out."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.enhance"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to enhance")
    sharpen: float = Field(default=0.5, ge=0.0, le=2.0, description="Unsharp-mask amount")
    denoise: float = Field(default=0.0, ge=0.0, le=1.0, description="Non-local-means denoising strength")
    local_contrast: float = Field(default=0.3, ge=0.0, le=1.0, description="CLAHE local contrast")
    saturation: float = Field(default=1.0, ge=0.0, le=2.0, description="Colour saturation factor")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(
            image=await transform(
                ctx,
                self.image,
                enhance,
                sharpen=self.sharpen,
                denoise=self.denoise,
                local_contrast=self.local_contrast,
                saturation=self.saturation,
            )
        )


@node("image.upscale", version="1.0.0", category="image")
class ImageUpscale(BaseNode):
    """Enlarge 2x or 4x with Lanczos resampling and an unsharp mask (classical, not AI super-resolution)."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY

    base_cost: ClassVar[int] = 2

    image: ImageRef = Field(description="The image to enlarge")
    factor: Literal[2, 4] = Field(default=2, description="Scale factor")
    sharpen: float = Field(default=0.4, ge=0.0, le=2.0, description="Unsharp-mask amount after enlarging")

    def working_set(self, sizes: MediaSizes) -> int:
        # Measured per pixel of the enlarged image, which the work and its encoding hold.
        return self.base_memory + int(BYTES_PER_PIXEL["image.upscale"] * sizes.image_pixels * self.factor**2)

    async def run(self, ctx: NodeContext) -> ImageOutput:
        pixels = await load_pixels(ctx, self.image)
        check_size(ctx, pixels.shape[1] * self.factor, pixels.shape[0] * self.factor)
        result = await ctx.run_blocking(lambda: upscale(pixels, self.factor, self.sharpen))
        return ImageOutput(image=await save_pixels(ctx, result))


@node("image.variations", version="1.0.0", category="image")
class ImageVariations(BaseNode):
    """One image into ``count`` styled variants (for ads, product pages, social posts): the styles
    are used in turn, each variant with its own seed."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY

    base_cost: ClassVar[int] = 2
    primary_output: ClassVar[str | None] = "images"

    image: ImageRef = Field(description="The source image, e.g. a product photo")
    count: int = Field(default=5, ge=1, le=12, description="How many variants")
    styles: list[StyleName] = Field(
        default_factory=list, max_length=12, description="Styles to cycle through; empty uses a varied default set"
    )
    strength: float = Field(default=0.85, ge=0.0, le=1.0, description="How strongly each style applies")
    seed: Seed = 0

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        count = inputs.get("count", 5)
        return cls.base_cost * (count if isinstance(count, int) and count > 0 else 5)

    def working_set(self, sizes: MediaSizes) -> int:
        # One variant at a time: the costliest of its styles.
        costliest = max(STYLE_BYTES_PER_PIXEL[style] for style in self.styles or DEFAULT_VARIATIONS)
        return self.base_memory + int(costliest * sizes.image_pixels)

    async def run(self, ctx: NodeContext) -> ImagesOutput:
        pixels = await load_pixels(ctx, self.image)
        styles = self.styles or list(DEFAULT_VARIATIONS)
        saved: list[ImageRef] = []
        for index in range(self.count):
            ctx.raise_if_cancelled()
            style = styles[index % len(styles)]
            seed = (self.seed + index) % 2**32
            variant = await ctx.run_blocking(
                lambda s=style, n=seed: apply_style(pixels, s, strength=self.strength, seed=n)
            )
            saved.append(await save_pixels(ctx, variant))
            ctx.report_progress((index + 1) / self.count)
        return ImagesOutput(images=saved)
