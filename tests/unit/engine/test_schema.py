"""Published node schemas: inputs with defaults, ranges and enums; outputs; media inputs a client can read."""

from __future__ import annotations

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.engine.node import default_registry
from pixelmill.engine.schema import NodeTypeSchema, node_schema
from tests.support.engine_nodes import ProbeCount, ProbeImageSink, probe_registry


def schema_of(node_type: str) -> NodeTypeSchema:
    cls = default_registry.get(node_type)
    assert cls is not None
    return node_schema(cls)


def test_core_node_schema_has_defaults_ranges_and_output_type() -> None:
    divide = schema_of("math.divide")
    assert (divide.type, divide.version, divide.category) == ("math.divide", "1.0.0", "math")
    assert divide.description.startswith("Divide one number by another")
    assert divide.inputs["properties"]["b"]["default"] == 1
    assert divide.inputs["properties"]["b"]["x-pixelmill-type"] == "float"
    assert divide.inputs["additionalProperties"] is False
    assert divide.outputs["properties"]["value"]["x-pixelmill-type"] == "float"
    assert (divide.primary_output, divide.output_type) == ("value", "json")
    assert (divide.cost, divide.cost_depends_on_inputs, divide.capability, divide.deterministic) == (
        0,
        False,
        "cpu",
        True,
    )

    seed = schema_of("random.seed")
    seed_range = seed.inputs["properties"]["seed"]["anyOf"][0]
    assert (seed_range["minimum"], seed_range["maximum"]) == (0, 2**32 - 1)
    assert seed.deterministic is False
    assert (seed.cached, divide.cached) == (False, False)  # chance, and arithmetic cheaper than a lookup
    assert node_schema(ProbeCount).cached is True

    template = schema_of("text.template")
    assert template.inputs["required"] == ["template"]
    assert template.output_type == "text"


def test_media_inputs_reference_a_described_image_definition() -> None:
    sink = node_schema(ProbeImageSink)
    image = sink.inputs["properties"]["image"]
    assert image["$ref"] == "#/$defs/ImageRef"
    assert image["x-pixelmill-type"] == "image"
    assert sink.inputs["properties"]["references"]["x-pixelmill-type"] == "list[image]"
    assert sink.inputs["properties"]["references"]["maxItems"] == 4
    assert sink.inputs["properties"]["mode"]["enum"] == ["fast", "fine"]
    definition = sink.inputs["$defs"]["ImageRef"]
    assert "file_id" in definition["description"]
    assert definition["properties"]["file_id"]["anyOf"][0]["type"] == "string"
    assert sink.output_type == "images"
    assert probe_registry.get("probe.image_sink") is ProbeImageSink


def test_a_cost_function_is_reported_as_input_dependent() -> None:
    count = node_schema(ProbeCount)
    assert count.cost_depends_on_inputs is True
    assert count.cost == 0


def test_every_registered_node_type_has_a_schema() -> None:
    for cls in default_registry.all():
        schema = node_schema(cls)
        assert schema.type == cls.node_type
        assert schema.outputs["properties"][schema.primary_output]
