"""``edit_<operation>`` tools made from node type schemas (``GET /v1/nodes``), one per image-editing node.

A node type is image-editing when its schema says so: it has a required input of type ``image`` and
its primary output is an image (or images). Nothing else is looked at, so a node type installed
later (a plugin, a test's registry) becomes a tool without a change here. The tool is named after
the node type: ``image.style`` -> ``edit_style``, ``acme.sharpen`` -> ``edit_acme_sharpen``.

The tool's schema is the node's input schema with each image input turned into a string (a file id,
an image URL of this server, or base64 data, uploaded first); calling it runs a one-node graph.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterable
from typing import Any

from mcp import types

from pixelmill.client import AsyncClient
from pixelmill.client.models import NodeType
from pixelmill.mcp.media import image_file_id
from pixelmill.mcp.tools import IMAGE_ARGUMENT_HELP, ToolSpec, wait_for_run

TYPE_KEY = "x-pixelmill-type"
IMAGE_LABEL = "image"
IMAGE_LIST_LABEL = "list[image]"
EDITED_OUTPUTS = frozenset({"image", "images"})
NODE_ID = "edit"
# Stripped from node type names for tool names: the built-in image nodes read as ``edit_style``.
IMPLIED_PREFIX = "image."
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")


def _labels(prop: dict[str, Any]) -> set[str]:
    return {part.strip() for part in str(prop.get(TYPE_KEY, "")).split("|")}


def image_inputs(node: NodeType) -> tuple[list[str], list[str]]:
    """The node's single-image inputs and image-list inputs, by name."""
    properties: dict[str, Any] = node.inputs.get("properties", {})
    singles = [name for name, prop in properties.items() if IMAGE_LABEL in _labels(prop)]
    lists = [name for name, prop in properties.items() if IMAGE_LIST_LABEL in _labels(prop)]
    return singles, lists


def is_image_edit(node: NodeType) -> bool:
    required = set(node.inputs.get("required", []))
    singles, _ = image_inputs(node)
    return node.output_type in EDITED_OUTPUTS and any(name in required for name in singles)


def tool_name(node_type: str) -> str:
    operation = node_type.removeprefix(IMPLIED_PREFIX)
    return "edit_" + _NOT_NAME.sub("_", operation).strip("_").lower()


def tool_schema(node: NodeType) -> dict[str, Any]:
    """The node's input schema with image inputs as strings (and image lists as lists of strings)."""
    schema = copy.deepcopy(node.inputs)
    singles, lists = image_inputs(node)
    properties: dict[str, Any] = schema.setdefault("properties", {})
    for name in singles:
        kind: str | list[str] = ["string", "null"] if "null" in _labels(properties[name]) else "string"
        properties[name] = {**_kept(properties[name]), "type": kind}
    for name in lists:
        item = {"type": "string", "description": IMAGE_ARGUMENT_HELP}
        properties[name] = {**_kept(properties[name]), "type": "array", "items": item}
    schema.pop("title", None)
    schema["type"] = "object"
    # Drop the definitions only the replaced media inputs referred to (ImageRef): no argument uses them.
    text = json.dumps(properties)
    definitions = {key: value for key, value in schema.pop("$defs", {}).items() if f'"#/$defs/{key}"' in text}
    if definitions:
        schema["$defs"] = definitions
    return schema


def _kept(prop: dict[str, Any]) -> dict[str, Any]:
    """What a media property keeps as a string: title, size bounds, and its description with how to pass one."""
    kept = {key: prop[key] for key in ("title", "maxItems", "minItems", TYPE_KEY) if key in prop}
    described = str(prop.get("description", "")).rstrip(".")
    kept["description"] = f"{described}. {IMAGE_ARGUMENT_HELP}" if described else IMAGE_ARGUMENT_HELP
    return kept


def edit_tool(node: NodeType) -> ToolSpec:
    singles, lists = image_inputs(node)

    async def handler(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
        started = time.monotonic()
        inputs = dict(arguments)
        for name in singles:
            if inputs.get(name) is not None:
                inputs[name] = {"file_id": await image_file_id(client, name, inputs[name])}
        for name in lists:
            if name in inputs:
                refs = [await image_file_id(client, f"{name}.{i}", value) for i, value in enumerate(inputs[name])]
                inputs[name] = [{"file_id": ref} for ref in refs]
        graph = {"nodes": [{"id": NODE_ID, "type": node.type, "inputs": inputs}], "edges": []}
        created = await client.runs.create(graph)
        return await wait_for_run(client, created.run_id, started)

    cost = f"{node.cost} credits" + (" with default inputs" if node.cost_depends_on_inputs else "")
    return ToolSpec(
        name=tool_name(node.type),
        description=f"{node.description} (Node type {node.type}; costs {cost}.)",
        input_schema=tool_schema(node),
        handler=handler,
        field_of=lambda field: field.removeprefix("graph.nodes.0.inputs."),
    )


def edit_tools(nodes: Iterable[NodeType]) -> list[ToolSpec]:
    """A tool per image-editing node type, in node type order; a name taken twice keeps the first."""
    tools: dict[str, ToolSpec] = {}
    for node in sorted(nodes, key=lambda item: item.type):
        if is_image_edit(node):
            tools.setdefault(tool_name(node.type), edit_tool(node))
    return list(tools.values())
