"""What the image nodes share: output models, colour fields and the load -> work -> save step.

Pixels are loaded through the run's MediaStore, the OpenCV/Pillow work runs in the executor's
thread pool, and the result is saved back as PNG (lossless between nodes; ``image.convert``
chooses a delivery format).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from pixelmill.engine.context import NodeContext
from pixelmill.engine.values import ImageRef
from pixelmill.imaging.arrays import COLOUR_PATTERN, Pixels
from pixelmill.storage.media import check_pixel_count
from pixelmill.storage.pixels import image_of, pixels_of

MAX_SEED = 2**32 - 1
Colour = Annotated[str, Field(pattern=COLOUR_PATTERN, description="#rrggbb, #rgb or a colour name")]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="Seed for the operation's randomness")]


class ImageOutput(BaseModel):
    image: ImageRef = Field(description="The resulting image (PNG)")


class ImagesOutput(BaseModel):
    images: list[ImageRef] = Field(description="The resulting images, in order")


@runtime_checkable
class PixelStore(Protocol):
    """A MediaStore that also trades in arrays (RunMediaStore does): nodes then skip the Pillow
    round trip, which costs more than a crop on a 1024x1024 image."""

    async def load_pixels(self, ref: ImageRef) -> Pixels: ...

    async def save_pixels(self, pixels: Pixels, *, format: str = "png", quality: int | None = None) -> ImageRef: ...


async def load_pixels(ctx: NodeContext, ref: ImageRef) -> Pixels:
    media = ctx.media
    if isinstance(media, PixelStore):
        return await media.load_pixels(ref)
    return pixels_of(await media.load_image(ref))


async def save_pixels(ctx: NodeContext, pixels: Pixels, *, format: str = "png", quality: int | None = None) -> ImageRef:
    media = ctx.media
    if isinstance(media, PixelStore):
        return await media.save_pixels(pixels, format=format, quality=quality)
    return await media.save_image(image_of(pixels), format=format, quality=quality)


def check_size(ctx: NodeContext, width: int, height: int) -> None:
    """Refuse an output larger than the operator's pixel limit before making it."""
    check_pixel_count(width, height, ctx.settings.max_image_pixels)


async def transform(
    ctx: NodeContext, ref: ImageRef, work: Callable[..., Pixels], *args: Any, **kwargs: Any
) -> ImageRef:
    """Load ``ref``, run ``work(pixels, *args, **kwargs)`` off the event loop, save the result."""
    pixels = await load_pixels(ctx, ref)
    ctx.raise_if_cancelled()
    result = await ctx.run_blocking(work, pixels, *args, **kwargs)
    ctx.raise_if_cancelled()
    return await save_pixels(ctx, result)
