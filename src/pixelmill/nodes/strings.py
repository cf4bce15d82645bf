"""String edits: ``text.replace``, ``text.split`` and ``text.split_negative``.

Free, on the CPU, never cached (cheaper than a lookup)."""

from __future__ import annotations

from typing import ClassVar

import regex
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.errors import PixelmillError
from pixelmill.nodes.core import MAX_TEMPLATE_CHARS, MAX_TEMPLATE_OUTPUT_CHARS, StringOutput

MAX_PATTERN_CHARS = 1_000
# A regular expression can backtrack for ever (``(a|aa)+$``); the ``regex`` module stops it.
REGEX_TIMEOUT_SECONDS = 1.0


class SplitOutput(BaseModel):
    first: str = Field(description="The text before the first delimiter (all of it when there is none)")
    second: str = Field(description="The text after the first delimiter (empty when there is none)")


class PromptsOutput(BaseModel):
    positive: str = Field(description="The text outside square brackets")
    negative: str = Field(description="The text inside square brackets")


@node("text.replace", version="1.0.0", category="text")
class TextReplace(BaseNode):
    """Replace every occurrence of ``search`` in ``text``; with ``regex`` it is a Python regular
    expression and ``replace`` may refer to its groups (``\\1``); one that runs longer than a
    second fails the node."""

    trivial: ClassVar[bool] = True

    text: str = Field(default="", max_length=MAX_TEMPLATE_CHARS, description="The text to edit")
    search: str = Field(default="", max_length=MAX_PATTERN_CHARS, description="What to replace")
    replace: str = Field(default="", max_length=MAX_TEMPLATE_CHARS, description="What to put in its place")
    regex: bool = Field(default=False, description="Read search as a regular expression")

    async def run(self, ctx: NodeContext) -> StringOutput:
        if not self.search:
            return StringOutput(value=self.text)
        if not self.regex:
            result = self.text.replace(self.search, self.replace)
        else:
            try:
                result = await ctx.run_blocking(
                    regex.sub, self.search, self.replace, self.text, timeout=REGEX_TIMEOUT_SECONDS
                )
            except TimeoutError as exc:
                raise PixelmillError(
                    errors.INVALID_INPUT,
                    f"The regular expression ran longer than {REGEX_TIMEOUT_SECONDS:g} s",
                    field="search",
                    node_id=ctx.node_id,
                ) from exc
            except (regex.error, IndexError) as exc:
                raise PixelmillError(
                    errors.INVALID_INPUT,
                    f"Invalid regular expression or replacement: {exc}",
                    field="search",
                    node_id=ctx.node_id,
                ) from exc
        if len(result) > MAX_TEMPLATE_OUTPUT_CHARS:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The result is longer than {MAX_TEMPLATE_OUTPUT_CHARS} characters",
                node_id=ctx.node_id,
            )
        return StringOutput(value=result)


@node("text.split", version="1.0.0", category="text")
class TextSplit(BaseNode):
    """Split ``text`` in two at the first ``delimiter``, which is dropped."""

    trivial: ClassVar[bool] = True

    text: str = Field(default="", max_length=MAX_TEMPLATE_CHARS, description="The text to split")
    delimiter: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS, description="Where to split")

    async def run(self, ctx: NodeContext) -> SplitOutput:
        first, _, second = self.text.partition(self.delimiter)
        return SplitOutput(first=first, second=second)


@node("text.split_negative", version="1.0.0", category="text")
class TextSplitNegative(BaseNode):
    """Split a prompt written as ``a cat [blurry, dark]`` into the positive text (outside square
    brackets) and the negative text (inside them); each ``[`` becomes a space in the negative text,
    brackets nest, and a backslash before a bracket keeps it as text (as InvokeAI's string_split_neg)."""

    trivial: ClassVar[bool] = True

    text: str = Field(default="", max_length=MAX_TEMPLATE_CHARS, description="The prompt to split")

    async def run(self, ctx: NodeContext) -> PromptsOutput:
        positive, negative = split_negative(self.text)
        return PromptsOutput(positive=positive, negative=negative)


def split_negative(text: str) -> tuple[str, str]:
    positive: list[str] = []
    negative: list[str] = []
    depth = 0
    escaped = False
    for char in text:
        if char == "[" and not escaped:
            negative.append(" ")
            depth += 1
        elif char == "]" and not escaped:
            depth = max(depth - 1, 0)
        elif depth > 0:
            negative.append(char)
        else:
            positive.append(char)
        escaped = char == "\\" and not escaped
    return "".join(positive), "".join(negative)
