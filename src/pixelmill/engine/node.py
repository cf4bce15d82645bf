"""Node types: a pydantic model of inputs plus an async ``run`` returning an outputs model.

    @node("math.add", version="1.0.0", category="math")
    class Add(BaseNode):
        \"\"\"Add two numbers.\"\"\"          # the description, shown by GET /v1/nodes
        a: float = 0
        b: float = 0

        async def run(self, ctx: NodeContext) -> NumberOutput:
            return NumberOutput(value=self.a + self.b)

Input fields are the model's fields (defaults, ranges and enums come from pydantic and appear in
the JSON schema); the outputs model is read from ``run``'s return annotation. ``cost`` estimates
credits from the inputs known before the run (edge-fed inputs may be missing) and is charged with
the resolved inputs when the node executes. ``working_set`` estimates the memory one execution
holds at its peak from the sizes of its media inputs; the executor starts the node only when that
fits its memory budget (:mod:`pixelmill.engine.memory`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pixelmill.engine.context import NodeContext

Capability = Literal["cpu", "gpu", "remote"]

MIB = 1024 * 1024


Size = tuple[int, int]  # width, height


@dataclass(frozen=True, slots=True)
class MediaSizes:
    """Sizes of a node's media inputs, read from their stored records before anything is decoded:
    ``(width, height)`` of each input image, and of the frames of each input video."""

    images: tuple[Size, ...] = ()
    video_frames: tuple[Size, ...] = ()

    @property
    def image_pixels(self) -> int:
        """Pixels of all input images together."""
        return sum(width * height for width, height in self.images)

    @property
    def largest_image(self) -> int:
        """Pixels of the largest input image."""
        return max((width * height for width, height in self.images), default=0)


class BaseNode(BaseModel):
    """Base of every node type. Subclasses are registered with :func:`node`."""

    model_config = ConfigDict(extra="forbid")

    node_type: ClassVar[str]
    version: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str]
    outputs_model: ClassVar[type[BaseModel]]
    # Deterministic nodes are cached by (type, version, resolved inputs); set False for nodes whose
    # output depends on the outside world or on chance without a seed input.
    deterministic: ClassVar[bool] = True
    # Computing it costs less than a cache lookup and a cache row (arithmetic, constants, string
    # templates): such a node is never looked up nor stored, though it is deterministic. Caching a
    # sum took two statements per execution and grew the cache by one row per distinct input.
    trivial: ClassVar[bool] = False

    @classmethod
    def results_cached(cls) -> bool:
        """Whether results of this type are looked up in and added to the node cache."""
        return cls.deterministic and not cls.trivial

    # Where the node can run; the fleet routes graphs by the capabilities they need.
    capability: ClassVar[Capability] = "cpu"
    # Credits for one execution, unless ``cost`` is overridden.
    base_cost: ClassVar[int] = 0
    # Output field shown as the node's result in a run's ``outputs``; default the first field.
    primary_output: ClassVar[str | None] = None

    # Memory one execution holds besides what scales with its media (Python objects, buffers).
    base_memory: ClassVar[int] = 16 * MIB
    # Peak working memory per pixel of its input images, measured (benchmarks/node_memory.py):
    # decoded copies, intermediates, the result and its encoding. 0: the node holds no pixels.
    bytes_per_pixel: ClassVar[float] = 0.0
    # The node decodes its input images to edit them: ``max_edit_pixels`` bounds them.
    edits_pixels: ClassVar[bool] = False

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        """Credits this node will charge given (possibly partial) literal inputs."""
        return cls.base_cost

    def working_set(self, sizes: MediaSizes) -> int:
        """Bytes this execution holds at its peak, given its resolved inputs (``self``) and the
        sizes of its media inputs. Override where memory follows something else (an output size)."""
        return self.base_memory + int(self.bytes_per_pixel * sizes.image_pixels)

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        """What the engine charges: :meth:`cost`, unless the node calls a model the operator priced
        (setting ``model_credit_costs``: credits per output by model id); such nodes override this."""
        return cls.cost(inputs)

    @abstractmethod
    async def run(self, ctx: NodeContext) -> BaseModel:
        """Execute with ``self`` as the resolved inputs; return the outputs model."""


class NodeRegistry:
    """Node types by name. One default registry holds the built-ins; tests may build their own."""

    def __init__(self) -> None:
        self._types: dict[str, type[BaseNode]] = {}

    def add(self, cls: type[BaseNode]) -> None:
        if cls.node_type in self._types and self._types[cls.node_type] is not cls:
            raise ValueError(f"node type {cls.node_type!r} is registered twice")
        self._types[cls.node_type] = cls

    def get(self, type_name: str) -> type[BaseNode] | None:
        return self._types.get(type_name)

    def all(self) -> list[type[BaseNode]]:
        return sorted(self._types.values(), key=lambda cls: cls.node_type)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types


default_registry = NodeRegistry()


def node(
    name: str,
    *,
    version: str,
    category: str,
    registry: NodeRegistry | None = None,
) -> Any:
    """Class decorator: name, version and register a node type (description = the docstring)."""

    def decorate(cls: type[BaseNode]) -> type[BaseNode]:
        from pixelmill.engine.context import NodeContext

        returns = get_type_hints(cls.run, localns={"NodeContext": NodeContext}).get("return")
        if not (isinstance(returns, type) and issubclass(returns, BaseModel)):
            raise TypeError(f"{cls.__name__}.run must be annotated to return a pydantic model")
        cls.node_type = name
        cls.version = version
        cls.category = category
        cls.description = " ".join((cls.__doc__ or "").split())
        cls.outputs_model = returns
        (registry or default_registry).add(cls)
        return cls

    return decorate
