"""The settings schema of a model follows the graph its generation runs."""

from __future__ import annotations

from typing import Any

import jsonschema

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.config import Settings
from pixelmill.engine.node import default_registry
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.services.generation_graphs import GenerationRequest, plan_generation
from pixelmill.services.generation_settings import model_settings_schema

MODELS = build_provider_registry(Settings()).models()


def _schema(model_id: str) -> dict[str, Any] | None:
    info = next(m for m in MODELS if m.id == model_id)
    return model_settings_schema(info, MODELS, default_registry)


def test_an_image_model_offers_its_node_inputs_but_not_what_the_request_sets() -> None:
    schema = _schema("local/procedural")
    assert schema is not None
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert {"seed", "size", "aspect_ratio", "n"} <= set(properties)
    assert not {"prompt", "model", "reference_images"} & set(properties)
    assert properties["seed"]["x-pixelmill-node"] == "image.generate"


def test_every_property_the_schema_offers_is_accepted_by_the_planner() -> None:
    for model_id, key, value in [
        ("local/procedural", "seed", 7),
        ("local/algorithmic-music", "tempo_bpm", 90),
        ("local/espeak", "rate", 150),
        ("local/ken-burns", "zoom", 1.2),
    ]:
        schema = _schema(model_id)
        assert schema is not None
        assert key in schema["properties"]
        jsonschema.validate({key: value}, schema)
        info = next(m for m in MODELS if m.id == model_id)
        request = GenerationRequest(
            generation_type=info.generation_type, model_name=model_id, prompt="a test", settings={key: value}
        )
        plan = plan_generation(request, MODELS, default_registry)
        placed = [node["inputs"][key] for node in plan.graph["nodes"] if key in node["inputs"]]
        assert placed == [value]


def test_the_schema_refuses_a_key_the_planner_refuses() -> None:
    schema = _schema("local/procedural")
    assert schema is not None
    assert schema["additionalProperties"] is False


def test_a_model_that_needs_a_source_image_has_no_prompt_settings() -> None:
    assert _schema("local/cv") is None
