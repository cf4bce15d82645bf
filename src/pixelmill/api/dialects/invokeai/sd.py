"""InvokeAI's Stable Diffusion text-to-image pipeline as one pixelmill ``image.generate`` node.

InvokeAI spells a text-to-image run as five nodes: ``main_model_loader`` -> ``compel`` (positive
and negative prompts) and ``noise`` (seed, size) -> ``denoise_latents`` -> ``l2i``. pixelmill's
diffusers provider runs that whole pipeline in one call, so the five collapse into one node that
runs as the ``l2i`` node (its prepared id carries the image); the others keep prepared ids of their
own and show no result, as nodes that ran inside it. The model is the operator's diffusers model of
the loader's ``model.name`` (``diffusers/<name>``). ``steps``, ``cfg_scale`` and ``scheduler`` are
the operator's settings for that model, not the node's. A pipeline without diffusers weights here,
or with parts this shape does not cover, is a 422 naming the node. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.api.dialects.invokeai.problems import graph_problem
from pixelmill.api.dialects.invokeai.schemas import Edge, Graph

MODEL_PREFIX = "diffusers/"
MEMBERS = ("main_model_loader", "compel", "noise", "denoise_latents", "l2i")
MAX_SEED = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One recognised pipeline: the ``l2i`` node it runs as, every node it consumes, its inputs."""

    output: str
    members: frozenset[str]
    inputs: dict[str, Any]


def pipelines(graph: Graph, diffusers_models: Sequence[str]) -> list[Pipeline]:
    """Every text-to-image pipeline of ``graph``, ending at each ``l2i`` node."""
    feeding: dict[tuple[str, str], Edge] = {(e.destination.node_id, e.destination.field): e for e in graph.edges}
    found = []
    for node_id, node in graph.nodes.items():
        if node.get("type") == "l2i":
            found.append(_pipeline(graph, feeding, node_id, diffusers_models))
    return found


def _fed_by(graph: Graph, feeding: Mapping[tuple[str, str], Edge], node_id: str, field: str, kind: str) -> str | None:
    """The ``kind`` node that feeds ``node_id.field``, None when nothing does; 422 for another kind."""
    edge = feeding.get((node_id, field))
    if edge is None:
        return None
    return _need(graph, feeding, node_id, field, kind)


def _need(graph: Graph, feeding: Mapping[tuple[str, str], Edge], node_id: str, field: str, kind: str) -> str:
    """The ``kind`` node that feeds ``node_id.field``; 422 when another kind or nothing does."""
    edge = feeding.get((node_id, field))
    if edge is None or graph.nodes.get(edge.source.node_id, {}).get("type") != kind:
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {node_id!r}: {field} must come from a {kind} node for the pipeline to run on the diffusers provider",
            node_id,
            field,
        )
    return edge.source.node_id


def _prompt(graph: Graph, feeding: Mapping[tuple[str, str], Edge], compel: str) -> str:
    """A compel node's prompt: its literal, or a ``string`` node's literal value fed to it."""
    edge = feeding.get((compel, "prompt"))
    node = graph.nodes[compel]
    value = node.get("prompt", "")
    if edge is not None:
        source = graph.nodes.get(edge.source.node_id, {})
        value = source.get("value") if source.get("type") == "string" else None
    if not isinstance(value, str):
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {compel!r}: prompt must be a string or come from a string node",
            compel,
            "prompt",
        )
    return value


def _pipeline(
    graph: Graph, feeding: Mapping[tuple[str, str], Edge], l2i: str, diffusers_models: Sequence[str]
) -> Pipeline:
    denoise = _need(graph, feeding, l2i, "latents", "denoise_latents")
    positive = _need(graph, feeding, denoise, "positive_conditioning", "compel")
    negative = _fed_by(graph, feeding, denoise, "negative_conditioning", "compel")
    noise = _need(graph, feeding, denoise, "noise", "noise")
    loader = _need(graph, feeding, denoise, "unet", "main_model_loader")
    model = _model(loader, graph.nodes[loader].get("model"), diffusers_models)
    noise_node = graph.nodes[noise]
    for name in ("width", "height", "seed"):
        if (noise, name) in feeding:
            raise graph_problem(
                errors.INVALID_INPUT, f"Node {noise!r}: {name} must be a literal here, not a connection", noise, name
            )
    width, height, seed = (
        noise_node.get(name, default) for name, default in (("width", 512), ("height", 512), ("seed", 0))
    )
    for name, value in (("width", width), ("height", height), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
            raise graph_problem(errors.INVALID_INPUT, f"Node {noise!r}: {name} must be a literal integer", noise, name)
    prompt = _prompt(graph, feeding, positive)
    inputs: dict[str, Any] = {"prompt": prompt, "model": model, "size": f"{width}x{height}", "seed": seed}
    if negative is not None:
        inputs["negative_prompt"] = _prompt(graph, feeding, negative)
    members = frozenset(node for node in (l2i, denoise, positive, negative, noise, loader) if node is not None)
    return Pipeline(output=l2i, members=members, inputs=inputs)


def _model(loader: str, model: Any, diffusers_models: Sequence[str]) -> str:
    if not diffusers_models:
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {loader!r}: this server has no diffusers weights configured (setting diffusers_models), "
            "so InvokeAI's Stable Diffusion nodes cannot run here",
            loader,
            "model",
        )
    name = model.get("name") if isinstance(model, dict) else None
    target = f"{MODEL_PREFIX}{name}" if isinstance(name, str) else ""
    if target not in diffusers_models:
        names = ", ".join(model_id.removeprefix(MODEL_PREFIX) for model_id in diffusers_models)
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {loader!r}: model.name {name!r} is not a diffusers model of this server ({names})",
            loader,
            "model",
        )
    return target
