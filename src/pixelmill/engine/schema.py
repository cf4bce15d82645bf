"""JSON schemas of node types, as ``GET /v1/nodes`` publishes them.

``inputs`` and ``outputs`` are the pydantic JSON schemas of the node's input model and outputs model
(defaults, ranges, enums, descriptions). Each property also carries ``x-pixelmill-type``, the type
label the edge rules use (``float``, ``str``, ``image``, ``list[image]`` …): an editor can offer
only the connections that validation will accept. Media inputs reference the ``ImageRef`` (or
``VideoRef``/``AudioRef``) definition, whose description says how to pass an uploaded file.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, Field

from pixelmill.engine import compat
from pixelmill.engine.node import BaseNode, Capability
from pixelmill.engine.values import OutputType

TYPE_KEY = "x-pixelmill-type"


class NodeTypeSchema(BaseModel):
    """One node type: identity, inputs and outputs as JSON Schema, cost and where it runs."""

    type: str = Field(description="The name used in a graph node's `type`")
    version: str = Field(description="Semantic version; part of the cache key")
    category: str
    description: str
    inputs: dict[str, Any] = Field(description="JSON Schema of the inputs, with defaults, ranges and enums")
    outputs: dict[str, Any] = Field(description="JSON Schema of the outputs; edges start from these fields")
    primary_output: str = Field(description="The output field shown as the node's result in a run")
    output_type: OutputType = Field(description="Type of the primary output in a run's outputs")
    cost: int = Field(description="Credits per execution with default inputs")
    cost_depends_on_inputs: bool = Field(description="Whether the cost changes with the inputs (e.g. image count)")
    capability: Capability = Field(description="Where it runs: cpu, gpu or remote")
    deterministic: bool = Field(description="Same inputs give the same outputs")
    cached: bool = Field(description="Results are cached by their inputs (deterministic, and not cheaper to compute)")


def _label_properties(schema: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in properties:
            properties[key][TYPE_KEY] = compat.type_label(info.annotation)
    return schema


@functools.cache
def node_schema(cls: type[BaseNode]) -> NodeTypeSchema:
    """The published schema of ``cls``; computed once per class (node types are immutable)."""
    inputs = _label_properties(cls.model_json_schema(mode="validation"), cls)
    outputs = _label_properties(cls.outputs_model.model_json_schema(mode="serialization"), cls.outputs_model)
    return NodeTypeSchema(
        type=cls.node_type,
        version=cls.version,
        category=cls.category,
        description=cls.description,
        inputs=inputs,
        outputs=outputs,
        primary_output=compat.primary_output(cls),
        output_type=compat.node_output_type(cls),
        cost=cls.cost({}),
        cost_depends_on_inputs=getattr(cls.cost, "__func__", None) is not getattr(BaseNode.cost, "__func__", None),
        capability=cls.capability,
        deterministic=cls.deterministic,
        cached=cls.results_cached(),
    )
