"""Graph validation without side effects: the checks a run or a saved workflow gets, answered as data.

An editor validates as the user types. A 422 from ``POST /v1/runs`` would do, but it creates a run
when the graph is fine and a failed request otherwise; this route answers 200 with every problem
(code, message, node_id, field, as the 422 lists them) and queues nothing, charges nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.engine.model_checks import check_models, resolve_model_aliases
from pixelmill.engine.validation import GraphValidationError, parse_graph, validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/graphs", tags=["graphs"])


class GraphValidateRequest(RequestModel):
    graph: dict[str, Any] = Field(description='{"nodes": [...], "edges": [...]}, as accepted by POST /v1/runs')


class GraphProblem(BaseModel):
    code: str
    message: str
    node_id: str | None = None
    field: str | None = None


class GraphValidation(BaseModel):
    object: Literal["graph_validation"] = "graph_validation"
    valid: bool
    errors: list[GraphProblem] = Field(description="Every problem found, in the order validation met them")
    estimated_cost: int | None = Field(description="Credits the run would hold; null when invalid")


def problems_of(exc: PixelmillError) -> list[GraphProblem]:
    """Each problem an error carries: a graph validation error lists them all, others are one."""
    listed = exc.extra.get("errors") if isinstance(exc, GraphValidationError) else None
    if isinstance(listed, list) and listed:
        return [
            GraphProblem(code=p["code"], message=p["message"], node_id=p.get("node_id"), field=p.get("field"))
            for p in listed
        ]
    node_id, field = exc.extra.get("node_id"), exc.extra.get("field")
    return [
        GraphProblem(
            code=exc.code,
            message=exc.message,
            node_id=node_id if isinstance(node_id, str) else None,
            field=field if isinstance(field, str) else None,
        )
    ]


@router.post("/validate", operation_id="validate_graph")
async def validate(body: GraphValidateRequest, principal: PrincipalDep, runtime: RuntimeDep) -> GraphValidation:
    """Check a graph as ``POST /v1/runs`` would (types, fields, ranges, cycles, limits, models the
    workspace may use) and list every problem; nothing is created."""
    async with runtime.db.session() as session:
        providers = await runtime.workspace_providers.registry(session, principal.workspace_id)
    try:
        aliased = resolve_model_aliases(parse_graph(body.graph), runtime.nodes, providers)
        validated = validate_graph(aliased, runtime.nodes, runtime.settings)
        check_models(validated, providers)
    except PixelmillError as exc:
        return GraphValidation(valid=False, errors=problems_of(exc), estimated_cost=None)
    return GraphValidation(valid=True, errors=[], estimated_cost=validated.estimated_cost)
