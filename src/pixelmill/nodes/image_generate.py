"""``image.generate``: text to image through whichever TextToImageProvider serves the model."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import FreeJsonObject
from pixelmill.nodes.image_common import Seed, check_size
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY
from pixelmill.providers.base import ModelInfo, TextToImageRequest
from pixelmill.providers.model_limits import check_model_inputs

AspectRatio = Literal["1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21", "5:4", "4:5"]
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


class GenerateOutput(BaseModel):
    images: list[ImageRef] = Field(description="The generated images (n of them)")
    image: ImageRef = Field(description="The first generated image")


def output_size(size: str | None, aspect_ratio: str, resolution: int) -> tuple[int, int]:
    """``size`` ("1024x768") when given, else ``resolution`` on the long side at ``aspect_ratio``,
    both sides rounded to multiples of 8."""
    if size is not None:
        match = _SIZE.match(size)
        if match is None:
            raise PixelmillError(errors.INVALID_INPUT, f"size {size!r} is not WIDTHxHEIGHT", field="size")
        return int(match.group(1)), int(match.group(2))
    across, down = (int(part) for part in aspect_ratio.split(":"))
    long_side = max(across, down)
    width = max(8, round(resolution * across / long_side / 8) * 8)
    height = max(8, round(resolution * down / long_side / 8) * 8)
    return width, height


@node("image.generate", version="1.0.0", category="image")
class ImageGenerate(BaseNode):
    """Generate images from a prompt with a text-to-image model (default: the built-in procedural
    renderer, which is deterministic and not AI). Give ``size`` or ``aspect_ratio`` + ``resolution``."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]

    base_cost: ClassVar[int] = 5
    primary_output: ClassVar[str | None] = "images"

    prompt: str = Field(min_length=1, max_length=4000, description="What to draw")
    negative_prompt: str = Field(default="", max_length=4000, description="What to avoid")
    model: str = Field(default="local/procedural", description="A text-to-image model from GET /v1/models")
    size: str | None = Field(default=None, pattern=r"^\d{2,5}x\d{2,5}$", description="WIDTHxHEIGHT, e.g. 1024x768")
    aspect_ratio: AspectRatio = Field(default="1:1", description="Used when size is not given")
    resolution: int = Field(default=1024, ge=64, le=4096, description="Long side in pixels when size is not given")
    seed: Seed = 0
    n: int = Field(default=1, ge=1, le=8, description="How many images")
    reference_images: list[ImageRef] = Field(default_factory=list, max_length=8, description="Images to take cues from")
    options: FreeJsonObject | None = Field(
        default=None,
        description="Model-specific inputs passed to the upstream as they are; Replicate and fal models",
    )

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        count = inputs.get("n", 1)
        return cls.base_cost * (count if isinstance(count, int) and count > 0 else 1)

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        price = prices.get(str(inputs.get("model", cls.model_fields["model"].default)))
        if price is None:
            return cls.cost(inputs)
        count = inputs.get("n", 1)
        return price * (count if isinstance(count, int) and count > 0 else 1)

    async def run(self, ctx: NodeContext) -> GenerateOutput:
        info = ctx.providers.model(self.model)
        if ctx.test_mode and not info.sandbox:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Model {self.model!r} is not available to test keys; use a sandbox model such as local/procedural",
                field="model",
                node_id=ctx.node_id,
            )
        provider = ctx.providers.text_to_image(self.model)
        self.check_model(self.model_dump(), info)
        width, height = output_size(self.size, self.aspect_ratio, self.resolution)
        self._check_limits(info.limits, width, height, ctx)
        check_size(ctx, width, height)
        references = tuple([await ctx.media.load_image(ref) for ref in self.reference_images])
        request = TextToImageRequest(
            prompt=self.prompt,
            width=width,
            height=height,
            seed=self.seed,
            negative_prompt=self.negative_prompt,
            n=self.n,
            reference_images=references,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
            options=self.options or {},
            cancelled=lambda: ctx.cancelled,
        )
        ctx.raise_if_cancelled()
        pictures = await provider.text_to_image(self.model, request)
        ctx.report_progress(0.9)
        ctx.raise_if_cancelled()
        saved = list(await asyncio.gather(*(ctx.media.save_image(picture, format="png") for picture in pictures)))
        return GenerateOutput(images=saved, image=saved[0])

    def _check_limits(self, limits: Mapping[str, Any], width: int, height: int, ctx: NodeContext) -> None:
        too_big = width > limits.get("max_width", width) or height > limits.get("max_height", height)
        too_small = width < limits.get("min_width", 1) or height < limits.get("min_height", 1)
        if too_big or too_small or width * height > limits.get("max_pixels", ctx.settings.max_image_pixels):
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"{width}x{height} is outside what {self.model} makes",
                field="size",
                limits=dict(limits),
                node_id=ctx.node_id,
            )

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        """What the model cannot take, refused before the run is queued (and again at run time)."""
        check_model_inputs(inputs, info, capability="text-to-image")
        if inputs.get("options") and not info.limits.get("options"):
            raise PixelmillError(errors.INVALID_INPUT, f"{info.id} takes no options", field="options", model=info.id)
