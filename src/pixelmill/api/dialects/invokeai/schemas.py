"""InvokeAI's queue wire format (``services/session_queue/session_queue_common.py``, ``shared/graph.py``).

Bodies are read as InvokeAI's pydantic models read them: unknown keys ignored, its validators
(zipped lengths, one type per datum, one datum per field, fields that exist) failing with 422.
Answers are plain dicts built by :mod:`.queue`, since InvokeAI leaves null keys out of some
answers and not of others.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pixelmill.api.dialects.invokeai.node_types import NODE_TYPES

ItemStatus = Literal["pending", "in_progress", "completed", "failed", "canceled"]
# InvokeAI's own cap on items_by_ids.
MAX_ITEM_IDS = 1000
MAX_RUNS = 10_000


class InvokeModel(BaseModel):
    """What InvokeAI's models do with a key they do not know: ignore it."""

    model_config = ConfigDict(extra="ignore")


class EdgeConnection(InvokeModel):
    node_id: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=1, max_length=200)


class Edge(InvokeModel):
    source: EdgeConnection
    destination: EdgeConnection


class Graph(InvokeModel):
    """``{"id", "nodes": {node_id: node}, "edges": [...]}``; each node is flat: ``id``, ``type`` and
    its fields at the top level (checked per type by :mod:`.graphs`)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), max_length=200)
    nodes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    edges: list[Edge] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys_are_ids(self) -> Graph:
        for key, node in self.nodes.items():
            if node.get("id") != key:
                raise ValueError(f"Node with id {key} has a different id in its body ({node.get('id')!r})")
            if not isinstance(node.get("type"), str):
                raise ValueError(f"Node {key} has no type")
        return self


ImageField = dict[str, str]
BatchItem = str | float | int | ImageField | list[str | float | int | ImageField]


class BatchDatum(InvokeModel):
    node_path: str = Field(description="The node in the graph whose field the items fill")
    field_name: str = Field(description="The field the items fill")
    items: list[BatchItem] = Field(default_factory=list)


def _item_kind(item: Any) -> str:
    if isinstance(item, bool | int | float):  # ints and floats may mix, as InvokeAI allows
        return "number"
    return type(item).__name__


class Batch(InvokeModel):
    batch_id: str = Field(default_factory=lambda: str(uuid.uuid4()), max_length=200)
    origin: str | None = Field(default=None, max_length=1000)
    destination: str | None = Field(default=None, max_length=1000)
    data: list[list[BatchDatum]] | None = None
    graph: Graph
    workflow: dict[str, Any] | None = None
    runs: Annotated[int, Field(ge=1, le=MAX_RUNS)] = 1

    @model_validator(mode="after")
    def _valid_data(self) -> Batch:
        seen: set[tuple[str, str]] = set()
        for inner in self.data or []:
            if len({len(datum.items) for datum in inner}) > 1:
                raise ValueError("Zipped batch items must all have the same length")
            for datum in inner:
                if len({_item_kind(item) for item in datum.items}) > 1:
                    raise ValueError("All items in a batch datum must have the same type")
                pair = (datum.node_path, datum.field_name)
                if pair in seen:
                    raise ValueError(f"Each batch data must have unique node_id and field_name ({pair})")
                seen.add(pair)
                node = self.graph.nodes.get(datum.node_path)
                if node is None:
                    raise ValueError(f"Node {datum.node_path} not found in graph")
                known = NODE_TYPES.get(str(node.get("type")))
                if known is not None and datum.field_name not in known.fields:
                    raise ValueError(f"Field {datum.field_name} not found in node {datum.node_path}")
        return self


class EnqueueBatchBody(InvokeModel):
    """FastAPI embeds both body parameters: ``{"batch": {...}, "prepend": false}``."""

    batch: Batch
    prepend: bool = False


class NodeFieldValue(InvokeModel):
    node_path: str
    field_name: str
    value: Any


class WorkflowEnqueueBody(InvokeModel):
    """``POST /api/v1/workflows/i/{workflow_id}/enqueue``: a saved pixelmill workflow's latest
    published version, with ``field_values`` written into its nodes' inputs (and ``data`` expanded as
    a batch's is)."""

    queue_id: str = Field(default="default", max_length=200)
    field_values: list[NodeFieldValue] = Field(default_factory=list)
    data: list[list[BatchDatum]] | None = None
    runs: Annotated[int, Field(ge=1, le=MAX_RUNS)] = 1
    prepend: bool = False
    origin: str | None = Field(default=None, max_length=1000)
    destination: str | None = Field(default=None, max_length=1000)
    batch_id: str = Field(default_factory=lambda: str(uuid.uuid4()), max_length=200)


class BatchIdsBody(InvokeModel):
    batch_ids: list[str] = Field(max_length=MAX_ITEM_IDS)


class ItemIdsBody(InvokeModel):
    item_ids: list[int] = Field(max_length=MAX_ITEM_IDS)
