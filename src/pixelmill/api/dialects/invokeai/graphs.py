"""InvokeAI graphs <-> pixelmill graphs, and node outputs shown in InvokeAI's shapes. Pure functions.

InvokeAI prepares a copy of each source node under a fresh uuid before running it; results and
errors are keyed by those prepared ids and ``source_prepared_mapping`` leads from a source id to
them. Here the prepared copy is the pixelmill node: its id is a fresh uuid, so a client that
follows the documented mapping (``results[source_prepared_mapping[source_id][0]]``) finds its output.
A node type pixelmill cannot run, an unknown type, a field value without a counterpart or an edge
from an output pixelmill does not produce is a 422 naming the source node and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.api.dialects.invokeai.batches import FieldValue
from pixelmill.api.dialects.invokeai.canvas import blank_png
from pixelmill.api.dialects.invokeai.iterations import unroll
from pixelmill.api.dialects.invokeai.names import file_id_of, image_name_of_ref
from pixelmill.api.dialects.invokeai.node_types import MATH_OPERATIONS, NODE_TYPES, UNSUPPORTED, InvokeType
from pixelmill.api.dialects.invokeai.problems import graph_problem
from pixelmill.api.dialects.invokeai.schemas import Graph
from pixelmill.api.dialects.invokeai.sd import pipelines

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Translation:
    """A pixelmill graph and how its (prepared) node ids relate to the InvokeAI graph's."""

    graph: dict[str, Any]
    source_prepared_mapping: dict[str, list[str]]
    prepared_source_mapping: dict[str, str]
    node_types: dict[str, str]  # prepared id -> the type its output is shown as


def translate(
    graph: Graph,
    *,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    diffusers_models: Sequence[str] = (),
) -> Translation:
    """The pixelmill graph that runs ``graph``, each node under a new prepared id. Stable Diffusion
    pipelines run on ``diffusers_models`` (the operator's ``diffusers/<name>`` models), see :mod:`.sd`;
    an ``iterate`` is unrolled first (:mod:`.iterations`), its copies all prepared copies of their
    source node."""
    unrolled = unroll(graph)
    graph = unrolled.graph
    fed = {(edge.destination.node_id, edge.destination.field) for edge in graph.edges}
    has_pipeline = any(node.get("type") == "l2i" for node in graph.nodes.values())
    member_of = {m: p for p in (pipelines(graph, diffusers_models) if has_pipeline else []) for m in p.members}
    prepared: dict[str, str] = {}
    nodes: list[dict[str, Any]] = []
    node_types: dict[str, str] = {}
    for source_id, node in graph.nodes.items():
        type_name = str(node["type"])
        pipeline = member_of.get(source_id)
        spec = _spec(source_id, type_name) if pipeline is None else None
        prepared_id = new_id()
        prepared[source_id] = prepared_id
        node_types[prepared_id] = type_name
        if spec is None and (pipeline is None or pipeline.output != source_id):
            continue  # a pipeline's inner node: it runs inside the node its l2i becomes
        nodes.append(
            {
                "id": prepared_id,
                "type": "image.generate" if pipeline else target_type(source_id, type_name, node),
                "inputs": dict(pipeline.inputs) if pipeline else _inputs(source_id, _known(spec), node, fed),
                "use_cache": bool(node.get("use_cache", True)),
                "is_intermediate": bool(node.get("is_intermediate", False)),
            }
        )
    edges = [
        _edge(edge.source.node_id, edge.source.field, edge.destination.node_id, edge.destination.field, graph, prepared)
        for edge in graph.edges
        if edge.destination.node_id not in member_of  # a pipeline's inputs were read when it was recognised
    ]
    source_prepared: dict[str, list[str]] = {}
    for node_id, prepared_id in prepared.items():
        source_prepared.setdefault(unrolled.origin[node_id], []).append(prepared_id)
    return Translation(
        graph={"nodes": nodes, "edges": edges},
        source_prepared_mapping=source_prepared,
        prepared_source_mapping={prepared_id: unrolled.origin[node_id] for node_id, prepared_id in prepared.items()},
        node_types=node_types,
    )


def _known(spec: InvokeType | None) -> InvokeType:
    assert spec is not None  # only a pipeline's nodes have none
    return spec


def _spec(node_id: str, type_name: str) -> InvokeType:
    spec = NODE_TYPES.get(type_name)
    if spec is not None:
        return spec
    reason = UNSUPPORTED.get(type_name)
    if reason is not None:
        message = f"Node {node_id!r} of type {type_name!r} cannot run on this server: {reason}"
    else:
        message = f"Node {node_id!r} has an unknown type {type_name!r}"
    raise graph_problem(errors.UNKNOWN_NODE_TYPE, message, node_id, "type")


def target_type(node_id: str, type_name: str, node: Mapping[str, Any]) -> str:
    """The pixelmill node type ``node`` runs as; for ``integer_math`` and ``float_math`` it follows
    the literal ``operation`` (ADD when left out)."""
    spec = NODE_TYPES[type_name]
    if "operation" not in spec.ignored:
        return spec.target
    operation = node.get("operation", "ADD")
    target = MATH_OPERATIONS.get(operation) if isinstance(operation, str) else None
    if target is None:
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {node_id!r}: operation {operation!r} has no pixelmill node; "
            f"this server computes {', '.join(MATH_OPERATIONS)}",
            node_id,
            "operation",
        )
    return target


def _inputs(node_id: str, spec: InvokeType, node: Mapping[str, Any], fed: set[tuple[str, str]]) -> dict[str, Any]:
    if node.get("type") == "blank_image":
        return {"data": blank_png(node_id, {**spec.defaults, **node})}
    for name, why in spec.refused.items():
        if node.get(name) not in (None, False):
            raise graph_problem(errors.INVALID_INPUT, f"Node {node_id!r}: {name}: {why}", node_id, name)
    inputs: dict[str, Any] = dict(spec.fixed)
    for name, target in spec.inputs.items():
        if (node_id, name) in fed:
            continue
        value = node.get(name, spec.defaults.get(name, _MISSING))
        if value is _MISSING or value is None:
            continue
        if name in spec.image_inputs:
            value = _image_input(node_id, name, value, as_file_id=target == "file_id")
        elif name in spec.colours:
            hex_field, alpha_field = spec.colours[name]
            inputs[hex_field], inputs[alpha_field] = _colour(node_id, name, value)
            continue
        elif name in spec.values:
            mapped = spec.values[name].get(value) if isinstance(value, str) else None
            if mapped is None:
                raise graph_problem(
                    errors.INVALID_INPUT,
                    f"Node {node_id!r}: {name} {value!r} is not one of {', '.join(spec.values[name])}",
                    node_id,
                    name,
                )
            value = mapped
        inputs[target] = value
    return inputs


def _image_input(node_id: str, name: str, value: Any, *, as_file_id: bool) -> Any:
    """``{"image_name": …}`` as the pixelmill file it names: the id itself, or a file reference."""
    image_name = value.get("image_name") if isinstance(value, dict) else None
    file_id = file_id_of(image_name) if isinstance(image_name, str) else None
    if file_id is None:
        raise graph_problem(
            errors.INVALID_INPUT,
            f'Node {node_id!r}: {name} must be {{"image_name": …}} naming an image of this server, not {value!r}',
            node_id,
            name,
        )
    return file_id if as_file_id else {"file_id": file_id}


def _colour(node_id: str, name: str, value: Any) -> tuple[str, int]:
    """A ColorField ``{r, g, b, a}`` (each 0-255) as ``#rrggbb`` and the alpha."""
    parts = [value.get(key) for key in "rgba"] if isinstance(value, dict) else []
    if len(parts) != 4 or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 255 for p in parts):
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {node_id!r}: {name} must be {{r, g, b, a}}, each an integer 0-255, not {value!r}",
            node_id,
            name,
        )
    red, green, blue, alpha = (int(value[key]) for key in "rgba")
    return f"#{red:02x}{green:02x}{blue:02x}", alpha


def _edge(
    source_id: str,
    source_field: str,
    destination_id: str,
    destination_field: str,
    graph: Graph,
    prepared: Mapping[str, str],
) -> dict[str, Any]:
    for node_id in (source_id, destination_id):
        if node_id not in graph.nodes:
            raise graph_problem(
                errors.EDGE_UNKNOWN_NODE, f"Edge refers to node {node_id!r}, which is not in the graph", node_id
            )
    source = NODE_TYPES.get(str(graph.nodes[source_id]["type"]))
    destination = NODE_TYPES[str(graph.nodes[destination_id]["type"])]
    output = source.outputs.get(source_field) if source else None
    if output is None:
        gives = ", ".join(source.outputs) if source else "nothing outside its pipeline"
        raise graph_problem(
            errors.EDGE_UNKNOWN_FIELD,
            f"Edge from {source_id}.{source_field}: this server's {graph.nodes[source_id]['type']} gives only {gives}",
            source_id,
            source_field,
        )
    target = destination.inputs.get(destination_field)
    if (
        target is None
        or (destination_field in destination.image_inputs and target == "file_id")
        or destination_field in destination.colours
    ):
        raise graph_problem(
            errors.EDGE_UNKNOWN_FIELD,
            f"Edge to {destination_id}.{destination_field}: {graph.nodes[destination_id]['type']} takes no "
            "connection there",
            destination_id,
            destination_field,
        )
    return {
        "source": {"node_id": prepared[source_id], "field": output},
        "destination": {"node_id": prepared[destination_id], "field": target},
    }


def native_translation(graph: Mapping[str, Any], graph_id: str) -> tuple[Translation, dict[str, Any]]:
    """A pixelmill graph run as it is (a saved workflow): prepared ids are its own node ids. Also
    the graph as InvokeAI shows a session's graph (nodes keyed by id, inputs at the top level)."""
    nodes = list(graph.get("nodes", []))
    ids = [str(node.get("id")) for node in nodes]
    shown = {
        "id": graph_id,
        "nodes": {
            str(node.get("id")): {
                "id": node.get("id"),
                "type": node.get("type"),
                **dict(node.get("inputs") or {}),
                "is_intermediate": bool(node.get("is_intermediate", False)),
                "use_cache": bool(node.get("use_cache", True)),
            }
            for node in nodes
        },
        "edges": list(graph.get("edges", [])),
    }
    translation = Translation(
        graph=dict(graph),
        source_prepared_mapping={node_id: [node_id] for node_id in ids},
        prepared_source_mapping={node_id: node_id for node_id in ids},
        node_types={str(node.get("id")): str(node.get("type")) for node in nodes},
    )
    return translation, shown


def result_of(type_name: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A node's stored pixelmill outputs as InvokeAI shows the invocation's output."""
    spec = NODE_TYPES.get(type_name)
    if spec is None:  # a pixelmill node run natively: its own fields, media as image names
        return {**{name: _shown(value) for name, value in outputs.items()}, "type": f"{type_name}_output"}
    if spec.output == "image_output":
        ref = outputs.get(spec.outputs["image"])
        ref = ref if isinstance(ref, dict) else {}
        return {
            "image": {"image_name": image_name_of_ref(ref)},
            "width": ref.get("width"),
            "height": ref.get("height"),
            "type": "image_output",
        }
    shown: dict[str, Any] = {}
    for name, target in spec.outputs.items():
        value = outputs.get(target)
        if spec.output == "integer_output" and isinstance(value, int | float):
            value = int(value)
        elif spec.output == "float_output" and isinstance(value, int | float):
            value = float(value)
        shown[name] = value
    return {**shown, "type": spec.output}


def _shown(value: Any) -> Any:
    if isinstance(value, dict) and value.get("kind") == "image" and isinstance(value.get("file_id"), str):
        return {"image_name": image_name_of_ref(value)}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


def with_field_values(graph: Mapping[str, Any], values: Sequence[FieldValue]) -> dict[str, Any]:
    """A pixelmill graph with each value written into its node's inputs; ``{"image_name"}`` values
    become the file references pixelmill's image inputs take. 422 for a node the graph lacks."""
    nodes = {str(node.get("id")): {**node, "inputs": dict(node.get("inputs") or {})} for node in graph.get("nodes", [])}
    for value in values:
        node = nodes.get(value.node_path)
        if node is None:
            raise graph_problem(
                errors.VALIDATION_ERROR,
                f"Node {value.node_path!r} is not in the workflow's published graph",
                value.node_path,
                value.field_name,
            )
        literal = value.value
        image_name = literal.get("image_name") if isinstance(literal, dict) else None
        if isinstance(image_name, str):
            file_id = file_id_of(image_name)
            if file_id is None:
                raise graph_problem(
                    errors.INVALID_INPUT,
                    f"Node {value.node_path!r}: {image_name!r} is not an image name of this server",
                    value.node_path,
                    value.field_name,
                )
            literal = {"file_id": file_id}
        node["inputs"][value.field_name] = literal
    return {"nodes": list(nodes.values()), "edges": list(graph.get("edges", []))}
