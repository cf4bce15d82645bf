"""Rounding and random numbers: ``math.round``, ``math.round_to_multiple``, ``random.integer``,
``random.float``.

A random node draws from its ``seed`` when one is given (the same seed, the same number) and
from the operating system's generator otherwise. Neither is ever cached: an unseeded draw must
differ on every run, and a seeded one costs less than a cache lookup (as arithmetic does).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from typing import ClassVar, Literal, TypeVar

import numpy as np
from pydantic import Field, model_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.errors import PixelmillError
from pixelmill.nodes.core import MAX_SEED, FiniteFloat, IntegerOutput, NumberOutput

RoundMethod = Literal["nearest", "floor", "ceiling", "truncate"]
_N = TypeVar("_N", bound=BaseNode)
MAX_INT = 2**53  # integers a JSON reader keeps exactly
_ROUND: dict[str, Callable[[float], int]] = {
    "nearest": round,
    "floor": math.floor,
    "ceiling": math.ceil,
    "truncate": math.trunc,
}


def _generator(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed if seed is not None else secrets.randbits(64))


def _ordered(node: _N, low: float, high: float) -> _N:
    if not low < high:
        raise ValueError("low must be less than high")
    return node


class _Random(BaseNode):
    deterministic: ClassVar[bool] = False
    trivial: ClassVar[bool] = True

    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="A fixed seed; empty draws anew on each run")


@node("random.integer", version="1.0.0", category="random")
class RandomInteger(_Random):
    """A random integer in [low, high): ``high`` itself is never drawn."""

    low: int = Field(default=0, ge=-MAX_INT, le=MAX_INT, description="Smallest value")
    high: int = Field(default=2**31 - 1, ge=-MAX_INT, le=MAX_INT, description="One past the largest value")

    @model_validator(mode="after")
    def _low_below_high(self) -> RandomInteger:
        return _ordered(self, self.low, self.high)

    async def run(self, ctx: NodeContext) -> IntegerOutput:
        return IntegerOutput(value=int(_generator(self.seed).integers(self.low, self.high)))


@node("random.float", version="1.0.0", category="random")
class RandomFloat(_Random):
    """A random number in [low, high), rounded to ``decimals`` places."""

    low: FiniteFloat = Field(default=0.0, description="Smallest value")
    high: FiniteFloat = Field(default=1.0, description="Largest value (not drawn before rounding)")
    decimals: int = Field(default=2, ge=0, le=15, description="Decimal places kept")

    @model_validator(mode="after")
    def _low_below_high(self) -> RandomFloat:
        return _ordered(self, self.low, self.high)

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return NumberOutput(value=round(float(_generator(self.seed).uniform(self.low, self.high)), self.decimals))


@node("math.round", version="1.0.0", category="math")
class MathRound(BaseNode):
    """``value`` rounded to ``decimals`` places (halves to even, as Python rounds)."""

    trivial: ClassVar[bool] = True

    value: FiniteFloat = Field(default=0.0, description="The number to round")
    decimals: int = Field(default=0, ge=0, le=15, description="Decimal places kept")

    async def run(self, ctx: NodeContext) -> NumberOutput:
        return NumberOutput(value=round(self.value, self.decimals))


@node("math.round_to_multiple", version="1.0.0", category="math")
class MathRoundToMultiple(BaseNode):
    """``value`` as an integer multiple of ``multiple`` (e.g. a size divisible by 8), rounded to the
    nearest, down (floor), up (ceiling) or toward zero (truncate)."""

    trivial: ClassVar[bool] = True

    value: FiniteFloat = Field(default=0.0, description="The number to round")
    multiple: int = Field(default=8, ge=1, le=MAX_INT, description="The result is a multiple of this")
    method: RoundMethod = Field(default="nearest", description="nearest, floor, ceiling or truncate")

    async def run(self, ctx: NodeContext) -> IntegerOutput:
        result = _ROUND[self.method](self.value / self.multiple) * self.multiple
        if abs(result) > MAX_INT:
            raise PixelmillError(errors.INVALID_INPUT, "The result is too large to represent", node_id=ctx.node_id)
        return IntegerOutput(value=result)
