"""A registry with one extra image-editing node type, to see the MCP server turn it into a tool.

``test.mirror`` flips an image left to right and charges ``price`` credits. A server's runtime gets
this registry through :func:`use_mcp_nodes` (before an MCP client lists its tools).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import pixelmill.nodes  # noqa: F401 - registers the built-ins copied below
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, NodeRegistry, default_registry, node
from pixelmill.engine.values import ImageRef
from pixelmill.imaging.arrays import Pixels
from pixelmill.nodes.image_common import ImageOutput, transform
from pixelmill.runtime import Runtime

mcp_registry = NodeRegistry()
for _cls in default_registry.all():
    mcp_registry.add(_cls)


def _mirror(pixels: Pixels) -> Pixels:
    return np.ascontiguousarray(pixels[:, ::-1])


@node("test.mirror", version="1.0.0", category="image", registry=mcp_registry)
class Mirror(BaseNode):
    """Flip an image left to right."""

    base_cost: ClassVar[int] = 1

    image: ImageRef = Field(description="The image to flip")
    price: int = Field(default=1, ge=0, le=1000, description="Credits to charge")

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        price = inputs.get("price", cls.base_cost)
        return price if isinstance(price, int) else cls.base_cost

    async def run(self, ctx: NodeContext) -> ImageOutput:
        return ImageOutput(image=await transform(ctx, self.image, _mirror))


def use_mcp_nodes(runtime: Runtime) -> None:
    """Let ``runtime`` (and its node catalogue) use ``test.mirror`` too."""
    runtime.nodes = mcp_registry
