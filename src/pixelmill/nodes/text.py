"""Text nodes: free text from a prompt, and a short idea turned into a detailed image prompt.

Both go through a text provider (``local/smollm2`` by default, offline on the CPU). They are
deterministic: the same inputs, seed included, give the same text, so the executor may cache them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ChatImage, ModelInfo, TextProvider
from pixelmill.providers.model_limits import check_model_inputs
from pixelmill.providers.smollm2 import MAX_NEW_TOKENS
from pixelmill.providers.smollm2 import MODEL_ID as DEFAULT_TEXT_MODEL
from pixelmill.storage.media import HEIF_MIMES, sniff_mime

MAX_PROMPT_CHARS = 8000
MAX_SEED = 2**32 - 1
MAX_IMAGES = 16  # images one prompt may carry
MAX_OUTPUT_TOKENS = 32768  # the most any listed model writes; each model's own limit is checked too

ENHANCE_SYSTEM_PROMPT = (
    "You write prompts for an image generator. Given a short idea, reply with one detailed description "
    "of the picture in a single paragraph: the subject, the setting, the lighting, the colours, the "
    "composition and the artistic style. Reply with the description only."
)


class TextOutput(BaseModel):
    text: str = Field(description="The generated text")


class EnhancedPromptOutput(BaseModel):
    prompt: str = Field(description="A detailed image prompt that contains the idea")


@node("text.generate", version="1.0.0", category="text")
class TextGenerate(BaseNode):
    """Generate text from a prompt with a text model; the default runs offline on the CPU. A model
    with the vision capability also reads ``images`` (stored files, sent after the prompt)."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="What to write about or answer")
    system: str = Field(default="", max_length=MAX_PROMPT_CHARS, description="Instructions that steer the model")
    model: str = Field(default=DEFAULT_TEXT_MODEL, description="Text model id from GET /v1/models")
    max_tokens: int = Field(
        default=256,
        ge=1,
        le=MAX_OUTPUT_TOKENS,
        description=f"Most tokens to generate (local/smollm2: at most {MAX_NEW_TOKENS}; GET /v1/models says per model)",
    )
    temperature: float = Field(
        default=0.7, ge=0, le=2, description="Sampling temperature; 0 always picks the likeliest"
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="The same seed and inputs give the same text")
    images: list[ImageRef] = Field(
        default_factory=list,
        max_length=MAX_IMAGES,
        description="Images the model reads with the prompt (models with the vision capability only)",
    )
    image_details: list[Literal["auto", "low", "high"]] = Field(
        default_factory=list,
        max_length=MAX_IMAGES,
        description="OpenAI's detail for each image, in order (left out: the model's default)",
    )

    base_cost: ClassVar[int] = 2

    @field_validator("max_tokens")
    @classmethod
    def _within_the_default_model(cls, value: int, info: ValidationInfo) -> int:
        # Other models' limits are checked by check_model, which needs the model named in the graph.
        if info.data.get("model", DEFAULT_TEXT_MODEL) == DEFAULT_TEXT_MODEL and value > MAX_NEW_TOKENS:
            raise ValueError(f"{DEFAULT_TEXT_MODEL} writes at most {MAX_NEW_TOKENS} tokens")
        return value

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        return model_price(cls, inputs, prices)

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        check_text_model(inputs, info)
        if inputs.get("images") and "vision" not in info.capabilities:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"{info.id} reads text only; send images to a model with the vision capability (GET /v1/models)",
                field="images",
                model=info.id,
            )

    async def run(self, ctx: NodeContext) -> TextOutput:
        provider = text_provider(ctx, self.model)
        self.check_model(self.model_dump(), ctx.providers.model(self.model))
        images = [await self._chat_image(ctx, index, ref) for index, ref in enumerate(self.images)]
        ctx.report_progress(0.0, "generating")
        text = await provider.generate(
            self.model,
            self.prompt,
            self.system,
            self.max_tokens,
            self.temperature,
            self.seed,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
            images=images,
        )
        if not text:
            raise PixelmillError(errors.PROVIDER_ERROR, f"Model {self.model!r} returned no text", node_id=ctx.node_id)
        ctx.report_progress(1.0)
        return TextOutput(text=text)

    async def _chat_image(self, ctx: NodeContext, index: int, ref: ImageRef) -> ChatImage:
        """The stored image as the ``data:`` URL an upstream reads: the run's own copy, so the model
        sees exactly what was stored, whatever became of the place it came from."""
        data = await ctx.media.load_bytes(ref)
        mime = sniff_mime(data)
        if mime is None or not mime.startswith("image/") or mime in HEIF_MIMES:
            raise PixelmillError(
                errors.UNSUPPORTED_IMAGE_FORMAT, f"images[{index}] is not an image a model reads", field="images"
            )
        detail = self.image_details[index] if index < len(self.image_details) else None
        return ChatImage(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", detail)


@node("text.enhance_prompt", version="1.0.0", category="text")
class TextEnhancePrompt(BaseNode):
    """Turn a short idea into a detailed image prompt (subject, setting, light, colour, style)."""

    idea: str = Field(min_length=1, max_length=1000, description="The short idea, e.g. 'a lighthouse in a storm'")
    style: str = Field(default="", max_length=200, description="Optional style to aim for, e.g. 'watercolor'")
    model: str = Field(default=DEFAULT_TEXT_MODEL, description="Text model id from GET /v1/models")
    max_tokens: int = Field(default=120, ge=16, le=400, description="Most tokens the model may add")
    temperature: float = Field(default=0.5, ge=0, le=2, description="Sampling temperature")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="The same seed and inputs give the same prompt")

    base_cost: ClassVar[int] = 2

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        return model_price(cls, inputs, prices)

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        check_text_model(inputs, info)

    async def run(self, ctx: NodeContext) -> EnhancedPromptOutput:
        idea = " ".join(self.idea.split())
        if not idea:
            raise PixelmillError(errors.INVALID_INPUT, "The idea is blank", field="idea", node_id=ctx.node_id)
        style = " ".join(self.style.split())
        request = f"Idea: {idea}" + (f"\nStyle: {style}" if style else "")
        provider = text_provider(ctx, self.model)
        self.check_model(self.model_dump(), ctx.providers.model(self.model))
        ctx.report_progress(0.0, "enhancing")
        raw = await provider.generate(
            self.model,
            request,
            ENHANCE_SYSTEM_PROMPT,
            self.max_tokens,
            self.temperature,
            self.seed,
            progress=ctx.report_progress,
            usage=ctx.record_usage,
        )
        description = clean_description(raw)
        if not description:
            raise PixelmillError(errors.PROVIDER_ERROR, f"Model {self.model!r} returned no prompt", node_id=ctx.node_id)
        ctx.report_progress(1.0)
        return EnhancedPromptOutput(prompt=compose_prompt(idea, description, style))


def text_provider(ctx: NodeContext, model: str) -> TextProvider:
    """The provider of ``model``; a run made with a test key may use sandbox models only."""
    if ctx.test_mode and not ctx.providers.model(model).sandbox:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"Model {model!r} is not available to test keys; use a sandbox model",
            field="model",
            node_id=ctx.node_id,
        )
    return ctx.providers.text(model)


def model_price(cls: type[BaseNode], inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
    """The operator's price for the node's model (setting ``model_credit_costs``), else the node's."""
    price = prices.get(str(inputs.get("model", cls.model_fields["model"].default)))
    return cls.cost(inputs) if price is None else price


def check_text_model(inputs: Mapping[str, Any], info: ModelInfo) -> None:
    """A model that writes no text, or fewer tokens than asked: 422 before the run, nothing sent."""
    check_model_inputs(inputs, info, capability="text")
    limit = info.limits.get("max_tokens")
    asked = inputs.get("max_tokens")
    if isinstance(limit, int) and isinstance(asked, int) and asked > limit:
        raise PixelmillError(
            errors.INVALID_INPUT, f"{info.id} writes at most {limit} tokens", field="max_tokens", model=info.id
        )


_PREAMBLE = re.compile(r"^(sure|certainly|of course|here(?:'s|’s| is)|okay|ok)\b[^:\n]{0,80}:\s*", re.IGNORECASE)
_LABEL = re.compile(r"^(description|prompt|image prompt)\s*:\s*", re.IGNORECASE)


def clean_description(raw: str) -> str:
    """The model's first paragraph: no chat preamble, labels, quotes or cut-off sentence.

    Small models often go on after the description with commentary about it; that is not prompt.
    """
    paragraphs = (_strip_framing(" ".join(part.split())) for part in re.split(r"\n\s*\n", raw))
    text = next((part for part in paragraphs if part), "")
    if text and text[-1] not in ".!?":
        # Generation stopped at max_tokens mid-sentence; keep the complete sentences when there are any.
        last_stop = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        if last_stop > 0:
            text = text[: last_stop + 1]
    return text


def _strip_framing(paragraph: str) -> str:
    text = _LABEL.sub("", _PREAMBLE.sub("", paragraph))
    return text.strip().strip("\"'“”").strip()


def compose_prompt(idea: str, description: str, style: str) -> str:
    """The enhanced prompt: the description, led by the idea itself whenever the model paraphrased it."""
    prompt = description if idea.lower() in description.lower() else f"{idea}. {description}"
    if style and style.lower() not in prompt.lower():
        prompt = f"{prompt.rstrip('.')}, in a {style} style."
    return prompt
