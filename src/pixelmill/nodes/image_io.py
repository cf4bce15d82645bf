"""Getting images in and out: ``image.load`` (file, base64/data URL, https URL) and ``image.convert``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.imaging.arrays import parse_colour
from pixelmill.net import fetch_bytes
from pixelmill.nodes.image_common import Colour, ImageOutput, load_pixels, save_pixels
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY
from pixelmill.outbound_urls import UserUrl
from pixelmill.storage.codecs import flatten_alpha
from pixelmill.storage.media import HEIF_MIMES, sniff_mime

_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)(;[\w=.-]+)*;base64,", re.IGNORECASE)


def _decode_base64(text: str, limit: int) -> bytes:
    payload = _DATA_URL.sub("", text.strip(), count=1)
    if len(payload) * 3 // 4 > limit:
        raise PixelmillError(errors.PAYLOAD_TOO_LARGE, f"The image is larger than {limit} bytes", field="data")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise PixelmillError(
            errors.INVALID_INPUT, "data is not valid base64 or a base64 data URL", field="data"
        ) from None


@node("image.load", version="1.0.0", category="image")
class ImageLoad(BaseNode):
    """Bring an image into the graph: an uploaded file's id, base64 (or a data URL), or an https URL
    fetched with a size limit and a guard against private addresses. Exactly one source."""

    # An URL's content can change between runs, so results are never reused from the cache.
    deterministic: ClassVar[bool] = False

    file_id: str | None = Field(default=None, max_length=64, description="An uploaded file (file_…)")
    data: str | None = Field(default=None, description="Base64 image bytes or a data: URL")
    url: Annotated[str, UserUrl] | None = Field(default=None, max_length=2048, description="An https URL to fetch")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        given = [name for name in ("file_id", "data", "url") if getattr(self, name)]
        if len(given) != 1:
            raise PixelmillError(
                errors.INVALID_INPUT, "Give exactly one of file_id, data or url", field="file_id", node_id=ctx.node_id
            )
        if self.file_id:
            return ImageOutput(image=await self._describe_file(ctx, self.file_id))
        if self.data:
            raw = _decode_base64(self.data, ctx.settings.max_upload_bytes)
        else:
            assert self.url is not None
            raw = (await fetch_bytes(self.url, ctx.settings)).content
        mime = sniff_mime(raw)
        if mime is None or not mime.startswith("image/"):
            raise PixelmillError(
                errors.UNSUPPORTED_IMAGE_FORMAT, "The content is not an image", field=given[0], mime=mime
            )
        if mime in HEIF_MIMES:
            raise PixelmillError(
                errors.UNSUPPORTED_IMAGE_FORMAT, "HEIC/HEIF is not supported; convert to PNG or JPEG", field=given[0]
            )
        saved = await ctx.media.save_bytes(raw, mime=mime)
        assert isinstance(saved, ImageRef)
        return ImageOutput(image=saved)

    @staticmethod
    async def _describe_file(ctx: NodeContext, file_id: str) -> ImageRef:
        ref = ImageRef(file_id=file_id)
        data = await ctx.media.load_bytes(ref)
        mime = sniff_mime(data)
        if mime is None or not mime.startswith("image/"):
            raise PixelmillError(errors.UNSUPPORTED_IMAGE_FORMAT, f"File {file_id} is not an image", field="file_id")
        image = await ctx.media.load_image(ref)
        return ImageRef(
            sha256=hashlib.sha256(data).hexdigest(),
            file_id=file_id,
            mime=mime,
            size=len(data),
            width=image.width,
            height=image.height,
        )


@node("image.convert", version="1.0.0", category="image")
class ImageConvert(BaseNode):
    """Re-encode an image as PNG, JPEG or WebP. JPEG has no transparency: alpha is flattened onto
    ``background``."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to convert")
    format: Literal["png", "jpeg", "webp"] = Field(default="png", description="Output format")
    quality: int = Field(default=90, ge=1, le=100, description="JPEG/WebP quality")
    background: Colour = Field(default="#ffffff", description="Colour under transparent pixels for JPEG")

    async def run(self, ctx: NodeContext) -> ImageOutput:
        pixels = await load_pixels(ctx, self.image)
        if self.format == "jpeg" and pixels.shape[2] == 4:
            pixels = await ctx.run_blocking(flatten_alpha, pixels, parse_colour(self.background, "background"))
        quality = None if self.format == "png" else self.quality
        return ImageOutput(image=await save_pixels(ctx, pixels, format=self.format, quality=quality))
