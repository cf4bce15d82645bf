"""Text nodes: free text from a prompt, and a short idea turned into a detailed image prompt.

Both go through a text provider (``local/smollm2`` by default, offline on the CPU). They are
deterministic: the same inputs, seed included, give the same text, so the executor may cache them.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextProvider
from pixelmill.providers.smollm2 import MAX_NEW_TOKENS
from pixelmill.providers.smollm2 import MODEL_ID as DEFAULT_TEXT_MODEL

MAX_PROMPT_CHARS = 8000
MAX_SEED = 2**32 - 1

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
    """Generate text from a prompt with a text model; the default runs offline on the CPU."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="What to write about or answer")
    system: str = Field(default="", max_length=MAX_PROMPT_CHARS, description="Instructions that steer the model")
    model: str = Field(default=DEFAULT_TEXT_MODEL, description="Text model id from GET /v1/models")
    max_tokens: int = Field(default=256, ge=1, le=MAX_NEW_TOKENS, description="Most tokens to generate")
    temperature: float = Field(
        default=0.7, ge=0, le=2, description="Sampling temperature; 0 always picks the likeliest"
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="The same seed and inputs give the same text")

    base_cost: ClassVar[int] = 2

    async def run(self, ctx: NodeContext) -> TextOutput:
        provider = text_provider(ctx, self.model)
        ctx.report_progress(0.0, "generating")
        text = await provider.generate(
            self.model, self.prompt, self.system, self.max_tokens, self.temperature, self.seed
        )
        if not text:
            raise PixelmillError(errors.PROVIDER_ERROR, f"Model {self.model!r} returned no text", node_id=ctx.node_id)
        ctx.report_progress(1.0)
        return TextOutput(text=text)


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

    async def run(self, ctx: NodeContext) -> EnhancedPromptOutput:
        idea = " ".join(self.idea.split())
        if not idea:
            raise PixelmillError(errors.INVALID_INPUT, "The idea is blank", field="idea", node_id=ctx.node_id)
        style = " ".join(self.style.split())
        request = f"Idea: {idea}" + (f"\nStyle: {style}" if style else "")
        provider = text_provider(ctx, self.model)
        ctx.report_progress(0.0, "enhancing")
        raw = await provider.generate(
            self.model, request, ENHANCE_SYSTEM_PROMPT, self.max_tokens, self.temperature, self.seed
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
