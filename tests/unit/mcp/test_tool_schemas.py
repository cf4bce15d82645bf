"""Edit tools made from node schemas, and the argument check every tool runs before its handler."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import types

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.client.models import NodeType
from pixelmill.engine.node import default_registry
from pixelmill.engine.schema import node_schema
from pixelmill.mcp.edit_tools import edit_tools, is_image_edit, tool_name
from pixelmill.mcp.errors import ToolError
from pixelmill.mcp.tools import ToolSpec, core_tools


def builtin_node_types() -> list[NodeType]:
    return [NodeType.model_validate(node_schema(cls).model_dump(mode="json")) for cls in default_registry.all()]


def test_edit_tools_are_the_image_in_image_out_nodes() -> None:
    tools = {tool.name: tool for tool in edit_tools(builtin_node_types())}
    assert {"edit_style", "edit_enhance", "edit_upscale", "edit_reframe", "edit_remove_background"} <= set(tools)
    assert "edit_variations" in tools  # image in, images out
    # Text to image, image lists, video and audio nodes are not edits.
    assert not {"edit_generate", "edit_grid", "edit_video_frame", "edit_load"} & set(tools)
    for node in builtin_node_types():
        assert (tool_name(node.type) in tools) == is_image_edit(node), node.type


def test_tool_names_follow_the_node_type() -> None:
    assert tool_name("image.remove_background") == "edit_remove_background"
    assert tool_name("acme.Sharpen-Plus") == "edit_acme_sharpen_plus"


def test_image_inputs_become_strings_and_the_rest_keeps_the_node_schema() -> None:
    [style] = [tool for tool in edit_tools(builtin_node_types()) if tool.name == "edit_style"]
    properties = style.input_schema["properties"]
    assert properties["image"]["type"] == "string"
    assert "$ref" not in properties["image"]
    assert properties["strength"]["maximum"] == 1.0
    assert style.input_schema["additionalProperties"] is False
    assert "costs 2 credits" in style.description


def check(spec: ToolSpec, arguments: dict[str, Any]) -> str:
    with pytest.raises(ToolError) as caught:
        spec.check(arguments)
    assert caught.value.details["code"] == "INVALID_ARGUMENT"
    return caught.value.message


def test_arguments_are_checked_against_the_schema_with_the_argument_named() -> None:
    tools = {tool.name: tool for tool in core_tools() + edit_tools(builtin_node_types())}
    assert check(tools["generate_image"], {}).startswith("Invalid argument `prompt`:")
    assert check(tools["generate_image"], {"prompt": "x", "sizes": "1x1"}).startswith("Invalid argument `sizes`:")
    assert check(tools["edit_style"], {"image": "file_1", "strength": 3}).startswith("Invalid argument `strength`:")
    nested = check(tools["run_workflow"], {"workflow_id": "wf_1", "inputs": {"n1": 5}})
    assert nested.startswith("Invalid argument `inputs.n1`:")
    tools["edit_style"].check({"image": "file_1", "style": "cartoon"})


def test_every_tool_lists_as_an_mcp_tool_with_an_object_schema() -> None:
    for spec in core_tools() + edit_tools(builtin_node_types()):
        tool = spec.as_tool()
        assert isinstance(tool, types.Tool)
        assert tool.input_schema["type"] == "object"
        assert tool.description
