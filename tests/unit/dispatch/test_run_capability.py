"""Which fleet queue a run's graph goes to, decided when it is published: ``remote`` when every node
that computes calls an upstream model, the node types' own capabilities otherwise (no broker here:
the decision is a pure function of the graph, the node types and the model catalogue)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.config import Settings
from pixelmill.dispatch.celery_app import run_capability
from pixelmill.engine.node import default_registry
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.registry import ProviderRegistry


@pytest.fixture(scope="module")
def providers() -> ProviderRegistry:
    return build_provider_registry(Settings(openai_api_key=SecretStr("sk-test-remote-queue")))


def graph(*nodes: tuple[str, dict[str, Any]], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    listed = [{"id": f"n{index}", "type": type_, "inputs": inputs} for index, (type_, inputs) in enumerate(nodes)]
    return {"nodes": listed, "edges": edges or []}


def test_upstream_models_are_marked_remote_and_local_ones_not(providers: ProviderRegistry) -> None:
    assert providers.model("openai/gpt-image-1").remote
    assert not providers.model("local/procedural").remote


@pytest.mark.parametrize(
    ("nodes", "queue"),
    [
        ([("image.generate", {"prompt": "a lake", "model": "openai/gpt-image-1"})], "remote"),
        # image.edit is a GPU node type; with an upstream model nothing of it runs here.
        ([("image.edit", {"prompt": "night", "model": "openai/gpt-image-1"})], "remote"),
        (
            [
                ("text.template", {"template": "a {x}", "values": {"x": "lake"}}),
                ("image.generate", {"prompt": "a lake", "model": "openai/dall-e-3"}),
            ],
            "remote",  # a trivial node runs anywhere and does not pin the run
        ),
        ([("image.generate", {"prompt": "a lake"})], "cpu"),  # the default model is the local renderer
        ([("image.generate", {"prompt": "a lake", "model": "local/procedural"})], "cpu"),
        (
            [
                ("image.generate", {"prompt": "a lake", "model": "openai/gpt-image-1"}),
                ("image.style", {"style": "oil_paint"}),
            ],
            "cpu",  # mixed: the run is the unit of dispatch and its local work needs a cpu worker
        ),
        ([("image.edit", {"prompt": "night", "model": "diffusers/sdxl"})], "gpu"),  # unknown here: the type's own
        ([("math.add", {"a": 1, "b": 2})], "cpu"),
    ],
)
def test_the_queue_follows_the_models_the_graph_calls(
    providers: ProviderRegistry, nodes: list[tuple[str, dict[str, Any]]], queue: str
) -> None:
    assert run_capability(graph(*nodes), default_registry, providers) == queue


def test_a_model_fed_by_an_edge_is_not_known_at_dispatch_so_the_node_types_own_capability_counts(
    providers: ProviderRegistry,
) -> None:
    edge = {"source": {"node_id": "n0", "field": "text"}, "destination": {"node_id": "n1", "field": "model"}}
    fed = graph(
        ("text.template", {"template": "openai/gpt-image-1"}), ("image.edit", {"prompt": "night"}), edges=[edge]
    )
    assert run_capability(fed, default_registry, providers) == "gpu"


def test_without_a_model_catalogue_the_node_types_decide(providers: ProviderRegistry) -> None:
    upstream = graph(("image.generate", {"prompt": "a lake", "model": "openai/gpt-image-1"}))
    assert run_capability(upstream, default_registry) == "cpu"


def test_a_model_of_an_upstream_the_operator_has_no_key_for_is_remote_too(providers: ProviderRegistry) -> None:
    # A workspace's own key may serve it; the run still calls an upstream, whoever's key it uses.
    upstream = graph(("image.generate", {"prompt": "a lake", "model": "xai/grok-imagine-image"}))
    assert run_capability(upstream, default_registry, providers) == "remote"
