"""InvokeAI's error shape: FastAPI's own, ``{"detail": "..."}`` with pixelmill's status, and a 422
whose ``detail`` is the list of problems (``[{loc, msg, type}]``), as InvokeAI's clients parse it.

A problem with one node of a queued graph (the queue's translation, or pixelmill's own validation
told in the client's node ids) is a list too, located under ``body.batch.graph.nodes.<node id>``,
as InvokeAI's graph validators report it.
"""

from __future__ import annotations

from typing import Any

from pixelmill import errors
from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.errors import PixelmillError


def invokeai_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    problems = exc.extra.get("errors")
    if exc.spec is errors.VALIDATION_ERROR and isinstance(problems, list):
        return {
            "detail": [
                {
                    "loc": [part for part in str(p.get("field", "")).split(".") if part],
                    "msg": p.get("message", ""),
                    "type": p.get("type", ""),
                }
                for p in problems
                if isinstance(p, dict)
            ]
        }
    node_id = exc.extra.get("node_id")
    if exc.status == 422 and isinstance(node_id, str):
        field = exc.extra.get("field")
        loc = ["body", "batch", "graph", "nodes", node_id, *([field] if isinstance(field, str) else [])]
        return {"detail": [{"loc": loc, "msg": message, "type": exc.code.lower()}]}
    return {"detail": message}


ENVELOPE = ErrorEnvelope(body=invokeai_body)
