"""The built-in example workflows are valid graphs of existing node types, with the inputs they document."""

from __future__ import annotations

import pytest

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.config import Settings
from pixelmill.engine.node import default_registry
from pixelmill.engine.validation import validate_graph
from pixelmill.services.examples import EXAMPLE_SLUGS, Example, examples


@pytest.mark.parametrize("example", examples(), ids=EXAMPLE_SLUGS)
def test_example_graph_is_valid_and_its_inputs_exist(example: Example) -> None:
    validated = validate_graph(example.graph, default_registry, Settings())
    assert validated.estimated_cost > 0
    assert set(example.inputs) <= set(validated.nodes)
    outputs = [node_id for node_id, node in validated.nodes.items() if not node.is_intermediate]
    assert outputs, "an example must show a result"
    for node_id in example.inputs:
        node = validated.nodes[node_id]
        if node.type == "image.load":
            assert node.inputs == {}, "image inputs carry no source of their own, so an override names exactly one"
            assert node.is_intermediate


def test_the_five_examples_of_the_issue_are_shipped() -> None:
    assert [example.name for example in examples()] == [
        "Product variations",
        "Avatar styles",
        "Editorial enhance",
        "Text to image with caption",
        "Image to video",
    ]
    for example in examples():
        assert all(f"{node_id} (" in example.full_description for node_id in example.inputs)
