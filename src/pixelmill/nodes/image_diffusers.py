"""Prompt-guided edits with a model: ``image.edit`` (image-to-image) and ``image.inpaint`` (masked).

Text-to-image with a diffusers model is ``image.generate`` with model ``diffusers/<name>``. These
two nodes take any model whose provider implements the matching Protocol; today those are the
diffusers pipelines configured in ``diffusers_models``. The CPU restyling nodes (``image.style``
and friends) need no model and live in ``image_edit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, Capability, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY
from pixelmill.providers.base import ImageToImageRequest, InpaintRequest, ModelInfo
from pixelmill.providers.model_limits import check_model_inputs

MAX_SEED = 2**32 - 1


class EditOutput(BaseModel):
    image: ImageRef = Field(description="The edited image, the size of the source")


class InpaintOutput(BaseModel):
    image: ImageRef = Field(description="The image with the masked area repainted")


def check_sandbox(ctx: NodeContext, model: str) -> None:
    """A run made with a test key may use sandbox models only."""
    if ctx.test_mode and not ctx.providers.model(model).sandbox:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"Model {model!r} is not available to test keys; use a sandbox model",
            field="model",
            node_id=ctx.node_id,
        )


@node("image.edit", version="1.0.0", category="image")
class ImageEdit(BaseNode):
    """Redraw an image following a prompt with an image-to-image model (e.g. diffusers/<name>)."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]

    image: ImageRef = Field(description="The image to start from")
    prompt: str = Field(min_length=1, max_length=2000, description="What the result should show")
    negative_prompt: str = Field(default="", max_length=2000, description="What to avoid")
    model: str = Field(min_length=1, description="An image-to-image model from GET /v1/models")
    strength: float = Field(default=0.6, gt=0, le=1, description="How far to move from the source; 1 ignores it")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="The same seed and inputs give the same image")

    capability: ClassVar[Capability] = "gpu"
    base_cost: ClassVar[int] = 5

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        return prices.get(str(inputs.get("model")), cls.cost(inputs))

    async def run(self, ctx: NodeContext) -> EditOutput:
        check_sandbox(ctx, self.model)
        provider = ctx.providers.image_to_image(self.model)
        self.check_model(self.model_dump(), ctx.providers.model(self.model))
        image = await ctx.media.load_image(self.image)
        ctx.raise_if_cancelled()
        ctx.report_progress(0.1, "editing")
        request = ImageToImageRequest(
            image=image,
            operation="img2img",
            params={"strength": self.strength, "negative_prompt": self.negative_prompt},
            prompt=self.prompt,
            seed=self.seed,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
        )
        results = await provider.image_to_image(self.model, request)
        if not results:
            raise PixelmillError(errors.PROVIDER_ERROR, f"Model {self.model!r} returned no image", node_id=ctx.node_id)
        ctx.raise_if_cancelled()
        ref = await ctx.media.save_image(results[0])
        ctx.report_progress(1.0)
        return EditOutput(image=ref)

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        """A model that cannot edit, refused before the run is queued (and again at run time)."""
        check_model_inputs(inputs, info, capability="image-to-image")


@node("image.inpaint", version="1.0.0", category="image")
class ImageInpaint(BaseNode):
    """Repaint the white area of a mask in an image following a prompt (a diffusers inpainting model)."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]

    image: ImageRef = Field(description="The image to repaint")
    mask: ImageRef = Field(description="White where the image is repainted, black where it is kept")
    prompt: str = Field(min_length=1, max_length=2000, description="What the repainted area should show")
    negative_prompt: str = Field(default="", max_length=2000, description="What to avoid")
    model: str = Field(min_length=1, description="An inpainting model from GET /v1/models, e.g. diffusers/<name>")
    strength: float = Field(default=1.0, gt=0, le=1, description="1 repaints from noise; lower keeps more")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="The same seed and inputs give the same image")

    capability: ClassVar[Capability] = "gpu"
    base_cost: ClassVar[int] = 5

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        return prices.get(str(inputs.get("model")), cls.cost(inputs))

    async def run(self, ctx: NodeContext) -> InpaintOutput:
        check_sandbox(ctx, self.model)
        provider = ctx.providers.inpainting(self.model)
        self.check_model(self.model_dump(), ctx.providers.model(self.model))
        image = await ctx.media.load_image(self.image)
        mask = await ctx.media.load_image(self.mask)
        ctx.raise_if_cancelled()
        ctx.report_progress(0.1, "inpainting")
        request = InpaintRequest(
            image=image,
            mask=mask,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            strength=self.strength,
            seed=self.seed,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
        )
        results = await provider.inpaint(self.model, request)
        if not results:
            raise PixelmillError(errors.PROVIDER_ERROR, f"Model {self.model!r} returned no image", node_id=ctx.node_id)
        ctx.raise_if_cancelled()
        ref = await ctx.media.save_image(results[0])
        ctx.report_progress(1.0)
        return InpaintOutput(image=ref)

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        """A model that takes no mask, refused before the run is queued (and again at run time)."""
        check_model_inputs(inputs, info, capability="inpainting")
