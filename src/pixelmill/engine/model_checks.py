"""Refuse, before a run is queued, a model the graph names that this server cannot serve, or inputs
that model cannot take (too many references, a mask it does not accept): 422 up front rather than
a failed run, and nothing sent upstream.

A node type opts in by defining ``check_model(inputs, info)``; the same check runs again inside
the node, where edge-fed values are known.

Operator aliases (setting ``model_aliases``) are replaced by the ids they stand for here, before
validation, and nowhere else: the stored graph, the estimated cost, these checks, the node and the
run reads all see the real model, and provider adapters never see an alias.
"""

from __future__ import annotations

from pixelmill.engine.graph import Graph
from pixelmill.engine.node import NodeRegistry
from pixelmill.engine.validation import ValidatedGraph
from pixelmill.errors import PixelmillError
from pixelmill.providers.registry import ProviderRegistry


def resolve_model_aliases(graph: Graph, nodes: NodeRegistry, providers: ProviderRegistry) -> Graph:
    """``graph`` with every literal ``model`` input that names an alias replaced by its target (the
    same graph when none does); an alias whose target is not configured is INVALID_INPUT naming the
    node, the alias and the target."""
    if not providers.aliases:
        return graph
    resolved = []
    changed = False
    for graph_node in graph.nodes:
        model = graph_node.inputs.get("model")
        cls = nodes.get(graph_node.type)
        if isinstance(model, str) and cls is not None and "model" in cls.model_fields:
            try:
                canonical = providers.canonical(model)
            except PixelmillError as exc:
                exc.extra.setdefault("node_id", graph_node.id)
                raise
            if canonical != model:
                graph_node = graph_node.model_copy(update={"inputs": {**graph_node.inputs, "model": canonical}})
                changed = True
        resolved.append(graph_node)
    return graph.model_copy(update={"nodes": resolved}) if changed else graph


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
