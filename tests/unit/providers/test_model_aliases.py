"""Operator model aliases: what the setting accepts, what the registry resolves them to, and how a
graph's literal ``model`` inputs are rewritten before validation (no HTTP, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.graph import Graph
from pixelmill.engine.model_checks import resolve_model_aliases
from pixelmill.engine.node import default_registry
from pixelmill.errors import PixelmillError
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.registry import ProviderRegistry

KEY = SecretStr("sk-test-alias-0123456789")
ALIASES = {"image-default": "openai/gpt-image-1", "sketchy": "local/procedural", "grok": "xai/grok-imagine-image"}


def registry(**overrides: Any) -> ProviderRegistry:
    values: dict[str, Any] = {"openai_api_key": KEY, "model_aliases": ALIASES, **overrides}
    return build_provider_registry(Settings(**values))


def graph(*nodes: tuple[str, str, dict[str, Any]]) -> Graph:
    return Graph.model_validate(
        {"nodes": [{"id": node_id, "type": type_, "inputs": inputs} for node_id, type_, inputs in nodes]}
    )


@pytest.mark.parametrize(
    ("aliases", "wrong"),
    [
        ({"openai/default": "openai/gpt-image-1"}, "plain name"),  # looks like (and could shadow) a real id
        ({"": "openai/gpt-image-1"}, "plain name"),
        ({"two words": "openai/gpt-image-1"}, "plain name"),
        ({"image-default": "gpt-image-1"}, "provider/model id"),  # a target is a real id, never another alias
        ({"image-default": "sketchy"}, "provider/model id"),
    ],
)
def test_the_setting_refuses_aliases_that_look_like_ids_and_targets_that_are_not(
    aliases: dict[str, str], wrong: str
) -> None:
    with pytest.raises(ValidationError, match=wrong):
        Settings(model_aliases=aliases)


def test_an_alias_resolves_to_its_target_and_anything_else_stays_as_it_is() -> None:
    providers = registry()
    assert providers.canonical("image-default") == "openai/gpt-image-1"
    assert providers.canonical("sketchy") == "local/procedural"
    assert providers.canonical("openai/dall-e-3") == "openai/dall-e-3"
    assert providers.canonical("no-such-alias") == "no-such-alias"  # model() refuses it later, naming it
    assert providers.aliases_of("openai/gpt-image-1") == ["image-default"]
    assert providers.aliases_of("openai/dall-e-3") == []


def test_an_alias_whose_target_is_not_configured_names_alias_and_target() -> None:
    with pytest.raises(PixelmillError) as caught:
        registry().canonical("grok")  # no xAI key: its models are not served
    assert caught.value.spec is errors.INVALID_INPUT
    assert caught.value.status == 422
    assert (caught.value.extra["alias"], caught.value.extra["target"]) == ("grok", "xai/grok-imagine-image")
    assert "'grok'" in caught.value.message
    assert "'xai/grok-imagine-image'" in caught.value.message
    assert "openai/gpt-image-1" in caught.value.extra["configured"]


def test_a_graph_names_the_target_wherever_a_literal_model_input_named_an_alias() -> None:
    before = graph(
        ("img", "image.generate", {"prompt": "a lake", "model": "image-default"}),
        ("sketch", "image.generate", {"prompt": "hills", "model": "sketchy"}),
        ("plain", "image.generate", {"prompt": "dunes", "model": "openai/dall-e-3"}),
        ("default", "image.generate", {"prompt": "a city"}),
        ("label", "text.template", {"template": "image-default", "model": "image-default"}),
    )
    after = resolve_model_aliases(before, default_registry, registry())
    models = {node.id: node.inputs.get("model") for node in after.nodes}
    assert models == {
        "img": "openai/gpt-image-1",
        "sketch": "local/procedural",
        "plain": "openai/dall-e-3",
        "default": None,
        # Not a node with a model input: its literal is left for validation to refuse or keep.
        "label": "image-default",
    }
    assert before.nodes[0].inputs["model"] == "image-default"  # the caller's graph is not changed


def test_a_graph_without_aliases_is_returned_as_it_is() -> None:
    before = graph(("img", "image.generate", {"prompt": "a lake", "model": "openai/gpt-image-1"}))
    assert resolve_model_aliases(before, default_registry, registry()) is before
    assert resolve_model_aliases(before, default_registry, registry(model_aliases={})) is before


def test_a_broken_alias_in_a_graph_names_the_node() -> None:
    broken = graph(("img", "image.generate", {"prompt": "a lake", "model": "grok"}))
    with pytest.raises(PixelmillError) as caught:
        resolve_model_aliases(broken, default_registry, registry())
    assert (caught.value.extra["node_id"], caught.value.extra["field"]) == ("img", "model")
