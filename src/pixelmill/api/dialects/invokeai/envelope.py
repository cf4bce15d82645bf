"""How InvokeAI answers errors: FastAPI's ``{"detail": "..."}``, and for a 422 the validation list
``{"detail": [{"loc", "msg", "type"}]}`` that its pydantic models produce.

A problem with a node of the client's graph is located under ``body.batch.graph.nodes.<node id>``
(the source id the client wrote), with the field when there is one.
"""

from __future__ import annotations

from typing import Any

from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.errors import PixelmillError

TRANSPORT = ("body", "query", "path", "header")


def _loc(field: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in field.split(".") if part]


def invokeai_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    if exc.status != 422:
        return {"detail": message}
    problems = exc.extra.get("errors")
    node_id = exc.extra.get("node_id")
    field = exc.extra.get("field")
    if isinstance(node_id, str):
        loc: list[str | int] = ["body", "batch", "graph", "nodes", node_id]
        if isinstance(field, str):
            loc.append(field)
        return {"detail": [{"loc": loc, "msg": message, "type": exc.code.lower()}]}
    if isinstance(problems, list) and problems and all("message" in p and "type" in p for p in problems):
        return {
            "detail": [
                {"loc": ["body", *_loc(str(p.get("field", "")))], "msg": str(p["message"]), "type": str(p["type"])}
                for p in problems
            ]
        }
    return {
        "detail": [
            {
                "loc": ["body", *_loc(field)] if isinstance(field, str) else ["body"],
                "msg": message,
                "type": exc.code.lower(),
            }
        ]
    }


ENVELOPE = ErrorEnvelope(body=invokeai_body)
