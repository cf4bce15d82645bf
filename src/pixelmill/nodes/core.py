"""Core nodes: arithmetic, constants, text templates and seeds. All free, all on the CPU, none touch media.

Numbers are finite floats (JSON carries no NaN or Infinity, and the results are stored as JSON), so
an operation whose result overflows fails with ``INVALID_INPUT`` instead of storing ``inf``.
"""

from __future__ import annotations

import math
import re
import secrets
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, field_validator, model_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.errors import PixelmillError

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
MAX_SEED = 2**32 - 1
MAX_TEMPLATE_CHARS = 100_000
MAX_TEMPLATE_OUTPUT_CHARS = 1_000_000


class NumberOutput(BaseModel):
    value: float = Field(description="The result")


class IntegerOutput(BaseModel):
    value: int = Field(description="The integer")


class StringOutput(BaseModel):
    value: str = Field(description="The string")


class BooleanOutput(BaseModel):
    value: bool = Field(description="The boolean")


class TemplateOutput(BaseModel):
    text: str = Field(description="The template with every placeholder filled in")


class SeedOutput(BaseModel):
    seed: int = Field(ge=0, le=MAX_SEED, description="The seed, for the seed input of generation nodes")


def _finite(value: float, operation: str, ctx: NodeContext) -> NumberOutput:
    if not math.isfinite(value):
        raise PixelmillError(
            errors.INVALID_INPUT, f"The result of {operation} is too large to represent", node_id=ctx.node_id
        )
    return NumberOutput(value=value)


@node("math.add", version="1.0.0", category="math")
class MathAdd(BaseNode):
    """Add two numbers: a + b."""

    trivial: ClassVar[bool] = True

    a: FiniteFloat = Field(default=0, description="First addend")
    b: FiniteFloat = Field(default=0, description="Second addend")

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return _finite(self.a + self.b, f"{self.a} + {self.b}", ctx)


@node("math.subtract", version="1.0.0", category="math")
class MathSubtract(BaseNode):
    """Subtract one number from another: a - b."""

    trivial: ClassVar[bool] = True

    a: FiniteFloat = Field(default=0, description="Minuend")
    b: FiniteFloat = Field(default=0, description="Subtrahend")

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return _finite(self.a - self.b, f"{self.a} - {self.b}", ctx)


@node("math.multiply", version="1.0.0", category="math")
class MathMultiply(BaseNode):
    """Multiply two numbers: a × b."""

    trivial: ClassVar[bool] = True

    a: FiniteFloat = Field(default=1, description="First factor")
    b: FiniteFloat = Field(default=1, description="Second factor")

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return _finite(self.a * self.b, f"{self.a} * {self.b}", ctx)


@node("math.divide", version="1.0.0", category="math")
class MathDivide(BaseNode):
    """Divide one number by another: a ÷ b. A zero divisor is refused before the graph runs."""

    trivial: ClassVar[bool] = True

    a: FiniteFloat = Field(default=0, description="Dividend")
    b: FiniteFloat = Field(default=1, description="Divisor; must not be zero")

    @field_validator("b")
    @classmethod
    def _divisor_not_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("the divisor must not be zero")
        return value

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return _finite(self.a / self.b, f"{self.a} / {self.b}", ctx)


@node("value.integer", version="1.0.0", category="value")
class ValueInteger(BaseNode):
    """A constant integer, to feed one value into several nodes or to expose it as a workflow input."""

    trivial: ClassVar[bool] = True

    value: int = Field(default=0, description="The integer")

    async def run(self, ctx: NodeContext) -> IntegerOutput:
        return IntegerOutput(value=self.value)


@node("value.float", version="1.0.0", category="value")
class ValueFloat(BaseNode):
    """A constant number."""

    trivial: ClassVar[bool] = True

    value: FiniteFloat = Field(default=0, description="The number")

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return NumberOutput(value=self.value)


@node("value.string", version="1.0.0", category="value")
class ValueString(BaseNode):
    """A constant string, such as a prompt shared by several generation nodes."""

    trivial: ClassVar[bool] = True

    value: str = Field(default="", description="The string")

    async def run(self, ctx: NodeContext) -> StringOutput:
        return StringOutput(value=self.value)


@node("value.boolean", version="1.0.0", category="value")
class ValueBoolean(BaseNode):
    """A constant true or false."""

    trivial: ClassVar[bool] = True

    value: bool = Field(default=False, description="The boolean")

    async def run(self, ctx: NodeContext) -> BooleanOutput:
        return BooleanOutput(value=self.value)


# "{{" and "}}" are literal braces, "{name}" a placeholder; any other brace is an error.
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")
TemplateValue = str | int | float | bool


def _template_parts(template: str) -> list[tuple[str, bool]]:
    """The template as (text, is_placeholder) parts; ValueError naming the position of a stray brace."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _TEMPLATE_TOKEN.finditer(template):
        parts.append((template[position : match.start()], False))
        token = match.group(0)
        if match.group(1) is not None:
            parts.append((match.group(1), True))
        elif token in ("{{", "}}"):
            parts.append((token[0], False))
        else:
            raise ValueError(
                f"stray {token!r} at position {match.start()}: write {{name}} for a placeholder "
                "and {{ or }} for a literal brace"
            )
        position = match.end()
    parts.append((template[position:], False))
    return parts


def _as_text(value: TemplateValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@node("text.template", version="1.0.0", category="text")
class TextTemplate(BaseNode):
    """Fill {name} placeholders of a template from `values` and the inputs a, b, c and d.

    Plain substitution only: no attribute access, indexing, format specs or expressions, so a
    template can never reach into Python objects. Write {{ and }} for literal braces.
    """

    trivial: ClassVar[bool] = True

    template: str = Field(
        max_length=MAX_TEMPLATE_CHARS, description="Text with {name} placeholders, e.g. 'a {style} photo of {a}'"
    )
    values: dict[str, TemplateValue] = Field(default_factory=dict, description="Values by placeholder name")
    a: TemplateValue | None = Field(default=None, description="Value of {a}, convenient to feed from an edge")
    b: TemplateValue | None = Field(default=None, description="Value of {b}")
    c: TemplateValue | None = Field(default=None, description="Value of {c}")
    d: TemplateValue | None = Field(default=None, description="Value of {d}")

    @field_validator("template")
    @classmethod
    def _well_formed(cls, template: str) -> str:
        _template_parts(template)
        return template

    @model_validator(mode="after")
    def _every_placeholder_has_a_value(self) -> TextTemplate:
        self.render()
        return self

    def _mapping(self) -> dict[str, TemplateValue]:
        slots = {"a": self.a, "b": self.b, "c": self.c, "d": self.d}
        return {**{name: value for name, value in slots.items() if value is not None}, **self.values}

    def render(self) -> str:
        """The filled-in text; ValueError for a placeholder without a value or an oversized result."""
        mapping = self._mapping()
        pieces: list[str] = []
        size = 0
        for text, is_placeholder in _template_parts(self.template):
            if is_placeholder:
                if text not in mapping:
                    raise ValueError(f"the placeholder {{{text}}} has no value (set it in values or in a-d)")
                text = _as_text(mapping[text])
            size += len(text)
            if size > MAX_TEMPLATE_OUTPUT_CHARS:
                raise ValueError(f"the filled-in template would exceed {MAX_TEMPLATE_OUTPUT_CHARS} characters")
            pieces.append(text)
        return "".join(pieces)

    async def run(self, ctx: NodeContext) -> TemplateOutput:
        return TemplateOutput(text=self.render())


@node("random.seed", version="1.0.0", category="random")
class RandomSeed(BaseNode):
    """A seed for generation nodes: the given seed, or a fresh random one on every run when none is given.

    Not deterministic, so never cached: caching would freeze the 'random' seed forever. Nodes fed by
    it still cache on the seed they receive, so a fixed seed loses nothing.
    """

    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="A fixed seed; empty draws a random one")

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> SeedOutput:
        return SeedOutput(seed=self.seed if self.seed is not None else secrets.randbelow(MAX_SEED + 1))
