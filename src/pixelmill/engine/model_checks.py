"""Refuse, before a run is queued, a model the graph names that this server cannot serve, or inputs
that model cannot take (too many references, a mask it does not accept): 422 up front rather than
a failed run, and nothing sent upstream.

A node type opts in by defining ``check_model(inputs, info)``; the same check runs again inside
the node, where edge-fed values are known.
"""

from __future__ import annotations

from pixelmill.engine.validation import ValidatedGraph
from pixelmill.errors import PixelmillError
from pixelmill.providers.registry import ProviderRegistry


def check_models(validated: ValidatedGraph, providers: ProviderRegistry) -> None:
    """Raise the first problem (INVALID_INPUT naming node, field and model) of the graph's literal
    model inputs, for node types that define ``check_model``."""
    for node_id, cls in validated.node_types.items():
        check = getattr(cls, "check_model", None)
        if check is None:
            continue
        literals = validated.literal_inputs(node_id)
        model = literals.get("model")
        if not isinstance(model, str):
            continue
        try:
            check(literals, providers.model(model))
        except PixelmillError as exc:
            exc.extra.setdefault("node_id", node_id)
            raise
