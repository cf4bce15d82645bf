"""What ``settings`` a model's ``POST /v1/generations`` accepts, as one JSON Schema.

Derived from the graph the generation would run, never written by hand: the planner names the
nodes settings reach and the inputs each keeps for itself (prompt, model, source image); the rest
of each node's published input schema is the form. A key two nodes share goes to the first, as
``apply_settings`` places it, so the first node's property wins here too.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from pixelmill.engine.node import NodeRegistry
from pixelmill.engine.schema import node_schema
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.generation_graphs import GenerationPlan, GenerationRequest, plan_generation

# A prompt the planner accepts for every type: only the graph's shape matters here.
_PROBE_PROMPT = "settings probe"


def settings_schema(plan: GenerationPlan, registry: NodeRegistry) -> dict[str, Any]:
    """The JSON Schema of the ``settings`` object ``plan``'s request could have carried."""
    properties: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for node_type, reserved in plan.settings_targets:
        cls = registry.get(node_type)
        if cls is None:
            continue
        inputs = copy.deepcopy(node_schema(cls).inputs)
        definitions.update(inputs.get("$defs", {}))
        for name, prop in inputs.get("properties", {}).items():
            if name not in reserved and name not in properties:
                properties[name] = {**prop, "x-pixelmill-node": node_type}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if definitions:
        schema["$defs"] = definitions
    return schema


def model_settings_schema(
    info: ModelInfo, models: Sequence[ModelInfo], registry: NodeRegistry
) -> dict[str, Any] | None:
    """The settings of a generation from a prompt with ``info``; None when the model makes no
    generation from a prompt alone (an image-to-image model, or one no node runs yet)."""
    request = GenerationRequest(generation_type=info.generation_type, model_name=info.id, prompt=_PROBE_PROMPT)
    try:
        plan = plan_generation(request, models, registry, test_mode=info.sandbox)
    except PixelmillError:
        return None
    return settings_schema(plan, registry)
