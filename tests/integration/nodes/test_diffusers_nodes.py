"""Diffusers models through the real executor: image.generate, image.edit and image.inpaint.

The model is a tiny random Stable Diffusion pipeline saved to disk and named in settings
(``diffusers_models``), so the registry is built exactly as the server builds it. Outputs are
stored through the run's real MediaStore and decoded from the blob store. Seeds and sizes are
checked in depth on the provider (tests/unit/providers/test_diffusers_provider.py).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import pixelmill.nodes  # noqa: F401  (registers the built-in node types)
from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.db.models import Run, Workspace
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import default_registry
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import GraphValidationError, validate_graph
from pixelmill.engine.values import ImageRef
from pixelmill.ids import new_id
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.runtime import Runtime
from pixelmill.storage.media_store import RunMediaStore

pytest.importorskip("diffusers", reason="the diffusers extra is not installed")

from tests.support.tiny_diffusers import save_tiny_pipeline

MODEL = "diffusers/tiny"


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@dataclass
class DiffusersEnv:
    runtime: Runtime
    settings: Settings
    executor: GraphExecutor
    workspace_id: str

    def media(self, run_id: str | None) -> RunMediaStore:
        return RunMediaStore(
            db=self.runtime.db,
            blobs=self.runtime.blobs,
            settings=self.settings,
            workspace_id=self.workspace_id,
            run_id=run_id,
        )

    async def upload(self, image: Image.Image) -> dict[str, Any]:
        ref = await self.media(None).save_image(image)
        return {"file_id": ref.file_id}

    async def run(self, graph: dict[str, Any], *, test_mode: bool = False) -> ExecutionResult:
        validated = validate_graph(graph, default_registry, self.settings)
        run_id = new_id("run")
        async with self.runtime.db.session() as session:
            session.add(Run(id=run_id, workspace_id=self.workspace_id, status="running", graph=graph))
        return await self.executor.execute(validated, RunScope(run_id, self.workspace_id, test_mode))

    async def decode(self, value: dict[str, Any]) -> Image.Image:
        ref = ImageRef.model_validate(value)
        assert ref.sha256 is not None
        image = Image.open(io.BytesIO(await self.runtime.blobs.get(ref.sha256)))
        assert image.format == "PNG"
        return image


@pytest.fixture
async def env(runtime: Runtime, pipeline_dir: Path) -> AsyncIterator[DiffusersEnv]:
    settings = runtime.settings.model_copy(
        update={"diffusers_models": {"tiny": str(pipeline_dir)}, "diffusers_steps": 2}
    )
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="diffusers nodes", kind="team", plan="pro"))
    executor = GraphExecutor(
        settings=settings,
        store=SqlResultStore(runtime.db),
        providers=build_provider_registry(settings),
        media_factory=lambda scope: RunMediaStore(
            db=runtime.db,
            blobs=runtime.blobs,
            settings=settings,
            workspace_id=scope.workspace_id,
            run_id=scope.run_id,
        ),
    )
    with executor:
        yield DiffusersEnv(runtime, settings, executor, workspace_id)


@pytest.mark.anyio
async def test_generate_then_edit_then_inpaint_with_one_diffusers_model(env: DiffusersEnv) -> None:
    mask_image = Image.new("L", (64, 64), 0)
    mask_image.paste(255, (16, 16, 48, 48))
    mask = await env.upload(mask_image.convert("RGB"))
    graph = {
        "nodes": [
            {
                "id": "draw",
                "type": "image.generate",
                "inputs": {"prompt": "a red fox", "model": MODEL, "size": "64x64", "seed": 4},
            },
            {"id": "edit", "type": "image.edit", "inputs": {"prompt": "at sunset", "model": MODEL, "strength": 0.9}},
            {"id": "fill", "type": "image.inpaint", "inputs": {"mask": mask, "prompt": "a moon", "model": MODEL}},
        ],
        "edges": [
            {"source": {"node_id": "draw", "field": "image"}, "destination": {"node_id": "edit", "field": "image"}},
            {"source": {"node_id": "edit", "field": "image"}, "destination": {"node_id": "fill", "field": "image"}},
        ],
    }
    result = await env.run(graph)
    assert result.status == "completed", result.error
    assert result.total_cost == 15
    assert {node_id: output.type for node_id, output in result.outputs.items()} == {
        "draw": "images",
        "edit": "image",
        "fill": "image",
    }
    drawn = result.outputs["draw"].value[0]
    edited = result.outputs["edit"].value
    filled = result.outputs["fill"].value
    for ref in (drawn, edited, filled):
        assert (ref["width"], ref["height"]) == (64, 64)
        assert (await env.decode(ref)).size == (64, 64)
    assert len({drawn["sha256"], edited["sha256"], filled["sha256"]}) == 3


@pytest.mark.anyio
async def test_test_keys_cannot_use_a_diffusers_model(env: DiffusersEnv) -> None:
    source = await env.upload(Image.new("RGB", (64, 64)))
    node = {"id": "edit", "type": "image.edit", "inputs": {"image": source, "prompt": "x", "model": MODEL}}
    result = await env.run({"nodes": [node]}, test_mode=True)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == (errors.INVALID_INPUT.code, "model")


@pytest.mark.anyio
async def test_a_model_without_the_capability_fails_with_the_field(env: DiffusersEnv) -> None:
    source = await env.upload(Image.new("RGB", (64, 64)))
    node = {
        "id": "fill",
        "type": "image.inpaint",
        "inputs": {"image": source, "mask": source, "prompt": "x", "model": "local/smollm2"},
    }
    result = await env.run({"nodes": [node]})
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == (errors.INVALID_INPUT.code, "model")


@pytest.mark.parametrize(("field", "value"), [("strength", 0), ("strength", 1.5), ("seed", -1), ("prompt", "")])
def test_invalid_edit_parameters_are_refused_before_the_run(tmp_path: Path, field: str, value: Any) -> None:
    inputs: dict[str, Any] = {"image": {"file_id": "file_x"}, "prompt": "x", "model": MODEL, field: value}
    graph = {"nodes": [{"id": "e", "type": "image.edit", "inputs": inputs}]}
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(graph, default_registry, Settings(data_dir=tmp_path))
    assert caught.value.status == 422
    assert caught.value.extra["field"] == field
