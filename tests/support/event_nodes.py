"""Node types for event tests, added to the run tests' registry: one that fails, one with a large output."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.errors import PixelmillError
from tests.support.run_nodes import run_registry


class TextOut(BaseModel):
    text: str


@node("test.fail", version="1.0.0", category="test", registry=run_registry)
class Fail(BaseNode):
    """Fail with NODE_FAILED and ``message``."""

    deterministic: ClassVar[bool] = False
    message: str = "planned failure"

    async def run(self, ctx: NodeContext) -> TextOut:
        raise PixelmillError(errors.NODE_FAILED, self.message)


@node("test.text", version="1.0.0", category="test", registry=run_registry)
class Text(BaseNode):
    """Produce ``size`` characters of text (events that carry it are that large)."""

    deterministic: ClassVar[bool] = False
    size: int = Field(default=10, ge=0, le=1_000_000)

    async def run(self, ctx: NodeContext) -> TextOut:
        return TextOut(text="x" * self.size)
