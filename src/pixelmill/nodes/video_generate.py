"""``video.generate``: a clip from a prompt, or from a still and a prompt, by an upstream video model.

Any VideoProvider's model serves (``xai/grok-imagine-video``, Replicate and fal video models); the
built-in ``local/ken-burns`` is made by ``video.from_image`` and its kin instead, which stay local
only. What a model publishes in its catalogue limits (durations, whole seconds, resolutions, aspect
ratios, image to video) is checked before the run is queued, so nothing is sent that it cannot make.

The node charges per second of video: 3 credits a second (15 for the default 5 s, as
``video.from_image``), or the operator's ``model_credit_costs`` price of the model, which for a video
model is per second too. Seconds are rounded up. A node that fails upstream costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast

from pydantic import Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import FreeJsonObject
from pixelmill.nodes.image_common import Seed
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY
from pixelmill.nodes.video import VideoOutput
from pixelmill.providers.base import ModelInfo, VideoRequest
from pixelmill.providers.local_media import MODEL_NODE_TYPES
from pixelmill.providers.model_limits import check_model_inputs
from pixelmill.providers.video_motion import SHORT_SIDE, Resolution

VideoAspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"]
CREDITS_PER_SECOND = 3
DEFAULT_SECONDS = 5.0
MAX_SECONDS = 60.0
DEFAULT_RESOLUTION: Resolution = "720p"


def billed_seconds(inputs: Mapping[str, Any]) -> int:
    """Whole seconds the node is charged for: the asked duration rounded up (the default when unknown)."""
    duration = inputs.get("duration_seconds", DEFAULT_SECONDS)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 < duration <= MAX_SECONDS:
        duration = DEFAULT_SECONDS
    return max(1, math.ceil(float(duration) - 1e-9))


def frame_size(resolution: str, aspect_ratio: str | None, still: tuple[int, int] | None) -> tuple[int, int]:
    """Width and height asked of the model: ``resolution`` on the short side, at ``aspect_ratio``, else
    the still's shape, else 16:9; both sides even."""
    short = SHORT_SIDE[resolution]
    if aspect_ratio is not None:
        across, down = (float(part) for part in aspect_ratio.split(":"))
    elif still is not None:
        across, down = float(still[0]), float(still[1])
    else:
        across, down = 16.0, 9.0
    long_side = 2 * round(short * max(across, down) / min(across, down) / 2)
    return (long_side, short) if across >= down else (short, long_side)


def _refuse(message: str, field: str, info: ModelInfo, **extra: Any) -> PixelmillError:
    return PixelmillError(errors.INVALID_INPUT, message, field=field, model=info.id, **extra)


@node("video.generate", version="1.0.0", category="video")
class VideoGenerate(BaseNode):
    """Generate a video clip with an upstream video model (GET /v1/models, generation type video):
    from a prompt, or from an image and a prompt (image to video). Charged per second of video."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]
    base_cost: ClassVar[int] = CREDITS_PER_SECOND

    prompt: str = Field(min_length=1, max_length=4000, description="What happens in the video")
    model: str = Field(description="A video model from GET /v1/models, e.g. xai/grok-imagine-video")
    image: ImageRef | None = Field(default=None, description="The first frame to start from (image to video)")
    duration_seconds: float = Field(
        default=DEFAULT_SECONDS, gt=0, le=MAX_SECONDS, description="Length of the video; the model's limits apply"
    )
    aspect_ratio: VideoAspectRatio | None = Field(
        default=None, description="Frame shape; default the image's shape (image to video) or 16:9"
    )
    resolution: Resolution | None = Field(
        default=None, description="Short side of the frame; default 720p, or the largest the model makes below it"
    )
    seed: Seed = 0
    options: FreeJsonObject = Field(
        default_factory=dict, description="Model-specific upstream inputs, passed as they are (e.g. generate_audio)"
    )

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        return cls.base_cost * billed_seconds(inputs)

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        price = prices.get(str(inputs.get("model")))
        return cls.cost(inputs) if price is None else price * billed_seconds(inputs)

    async def run(self, ctx: NodeContext) -> VideoOutput:
        info = ctx.providers.model(self.model)
        if ctx.test_mode and not info.sandbox:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Model {self.model!r} is not available to test keys; local/ken-burns (video.from_image) is",
                field="model",
                node_id=ctx.node_id,
            )
        self.check_model(self.model_dump(), info)
        provider = ctx.providers.video(self.model)
        still = await ctx.media.load_image(self.image) if self.image is not None else None
        width, height = frame_size(
            self.resolution or model_resolution(info), self.aspect_ratio, still.size if still is not None else None
        )
        request = VideoRequest(
            prompt=self.prompt,
            image=still,
            duration_seconds=self.duration_seconds,
            width=width,
            height=height,
            seed=self.seed,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
            options=dict(self.options),
            cancelled=lambda: ctx.cancelled,
        )
        ctx.raise_if_cancelled()
        result = await provider.generate_video(self.model, request)
        ctx.raise_if_cancelled()
        try:
            video = await ctx.media.save_video(result.data, mime=result.mime)
        except PixelmillError as exc:
            if exc.code != errors.UNSUPPORTED_MEDIA_TYPE.code:
                raise
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE,
                f"{self.model} answered with something that is not a video ({exc.message})",
                provider=info.provider,
                node_id=ctx.node_id,
            ) from None
        ctx.report_progress(1.0)
        return VideoOutput(video=video)

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        """What the model cannot make, refused before the run is queued (and again at run time)."""
        check_model_inputs(inputs, info, capability="video")
        if info.id in MODEL_NODE_TYPES:
            makers = ", ".join(MODEL_NODE_TYPES[info.id])
            raise _refuse(f"{info.id} is made by its own node types ({makers}), not video.generate", "model", info)
        limits = info.limits
        duration = inputs.get("duration_seconds", DEFAULT_SECONDS)
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            low = limits.get("min_duration_seconds", 0)
            high = limits.get("max_duration_seconds", MAX_SECONDS)
            whole = limits.get("whole_seconds", False)
            if not low <= duration <= high or (whole and duration != round(duration)):
                kind = "whole seconds " if whole else ""
                raise _refuse(
                    f"{info.id} makes {kind}from {low:g} to {high:g} s, not {duration:g}",
                    "duration_seconds",
                    info,
                    limits=dict(limits),
                )
        if inputs.get("image") is not None and limits.get("image_to_video") is False:
            raise _refuse(f"{info.id} makes no video from an image", "image", info)
        resolution = inputs.get("resolution")
        if resolution is not None and resolution not in limits.get("resolutions", [resolution]):
            raise _refuse(f"{info.id} makes {', '.join(limits['resolutions'])}, not {resolution}", "resolution", info)
        aspect = inputs.get("aspect_ratio")
        if aspect is not None and aspect not in limits.get("aspect_ratios", [aspect]):
            raise _refuse(
                f"{info.id} makes aspect ratios {', '.join(limits['aspect_ratios'])}, not {aspect}",
                "aspect_ratio",
                info,
            )


def model_resolution(info: ModelInfo) -> Resolution:
    """720p, or the largest resolution the model lists below it (its smallest when all are larger)."""
    listed = [name for name in info.limits.get("resolutions", []) if name in SHORT_SIDE]
    if not listed or DEFAULT_RESOLUTION in listed:
        return DEFAULT_RESOLUTION
    below = [name for name in listed if SHORT_SIDE[name] <= SHORT_SIDE[DEFAULT_RESOLUTION]]
    chosen = max(below, key=SHORT_SIDE.__getitem__) if below else min(listed, key=SHORT_SIDE.__getitem__)
    return cast(Resolution, chosen)  # a key of SHORT_SIDE, which Resolution spells
