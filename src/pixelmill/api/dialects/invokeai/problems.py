"""A 422 about one node of the client's graph, named by the client's own (source) node id:
prepared ids mean nothing to it. The envelope locates it under ``body.batch.graph.nodes.<id>``."""

from __future__ import annotations

from typing import Any

from pixelmill.errors import ErrorSpec, PixelmillError


def graph_problem(spec: ErrorSpec, message: str, node_id: str, field: str | None = None) -> PixelmillError:
    extra: dict[str, Any] = {"node_id": node_id}
    if field is not None:
        extra["field"] = field
    return PixelmillError(spec, message, **extra)
