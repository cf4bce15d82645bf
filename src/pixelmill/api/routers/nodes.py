"""The node catalogue: every node type a graph may use, with the JSON schemas of its inputs and outputs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.engine.schema import NodeTypeSchema, node_schema
from pixelmill.errors import PixelmillError

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])


class NodeTypeList(BaseModel):
    object: Literal["list"] = "list"
    data: list[NodeTypeSchema]


@router.get("", operation_id="list_nodes")
async def list_nodes(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    category: Annotated[str | None, Query(description="Only node types of this category")] = None,
) -> NodeTypeList:
    """Every node type runs may use (the runtime's registry), ordered by type name."""
    return NodeTypeList(
        data=[node_schema(cls) for cls in runtime.nodes.all() if category is None or cls.category == category]
    )


@router.get("/{node_type}", operation_id="get_node")
async def get_node(node_type: str, principal: PrincipalDep, runtime: RuntimeDep) -> NodeTypeSchema:
    """One node type by name (``math.add``); 404 NOT_FOUND for a name no node type has."""
    cls = runtime.nodes.get(node_type)
    if cls is None:
        raise PixelmillError(errors.NOT_FOUND, f"Unknown node type {node_type!r}", node_type=node_type)
    return node_schema(cls)
