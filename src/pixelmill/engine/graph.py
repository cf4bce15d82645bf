"""The graph as clients write it: nodes with literal inputs, and edges from output to input fields.

    {"nodes": [{"id": "n1", "type": "math.add", "inputs": {"a": 2, "b": 3},
                "use_cache": true, "is_intermediate": false}],
     "edges": [{"source": {"node_id": "n1", "field": "value"},
                "destination": {"node_id": "n2", "field": "a"}}]}

This module only checks the shape; :mod:`pixelmill.engine.validation` checks the meaning (types,
fields, ranges, cycles, limits) against a node registry.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Node ids appear in output URLs (``/v1/outputs/runs/{run_id}/{node_id}.{ext}``), so no dots or slashes.
NodeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="Unique within the graph: letters, digits, '_' and '-'",
    ),
]
FieldName = Annotated[str, Field(min_length=1, max_length=100, description="An input or output field of the node")]


class GraphNode(BaseModel):
    """One node: its type, the literal values of its inputs, and how the executor treats it."""

    model_config = ConfigDict(extra="forbid")

    id: NodeId
    type: str = Field(min_length=1, max_length=100, description="A node type from GET /v1/nodes")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Literal input values; an input fed by an edge takes the edge's value"
    )
    use_cache: bool = Field(default=True, description="Reuse a cached result of a deterministic node")
    is_intermediate: bool = Field(default=False, description="Leave this node's result out of the run's outputs")


class Endpoint(BaseModel):
    """One end of an edge: a node and one of its fields."""

    model_config = ConfigDict(extra="forbid")

    node_id: NodeId
    field: FieldName


class Edge(BaseModel):
    """An output field of one node feeding an input field of another."""

    model_config = ConfigDict(extra="forbid")

    source: Endpoint
    destination: Endpoint


class Graph(BaseModel):
    """Nodes and edges; the canonical form of every run, workflow version and generation."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
