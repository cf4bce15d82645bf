"""A workspace, an executor with the real MediaStore, and helpers for image node tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.db.models import Run, Workspace
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import default_registry
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from pixelmill.services.files import FileService
from pixelmill.storage.codecs import decode_image, encode_image
from pixelmill.storage.media_store import RunMediaStore


@dataclass
class NodeEnv:
    runtime: Runtime
    executor: GraphExecutor
    workspace_id: str

    async def upload(self, pixels: NDArray[np.uint8], workspace_id: str | None = None) -> str:
        """Store ``pixels`` as an uploaded PNG file through FileService; return its id."""
        async with self.runtime.db.session() as session:
            service = FileService(session, self.runtime.blobs, self.runtime.settings)
            row = await service.create(workspace_id or self.workspace_id, encode_image(pixels, "png"))
            return row.id

    async def run(self, graph: dict[str, Any], *, test_mode: bool = False) -> ExecutionResult:
        run_id = new_id("run")
        async with self.runtime.db.session() as session:
            session.add(Run(id=run_id, workspace_id=self.workspace_id, status="running", graph=graph))
        validated = validate_graph(graph, default_registry, self.runtime.settings)
        return await self.executor.execute(validated, RunScope(run_id, self.workspace_id, test_mode))

    async def single(self, node_type: str, inputs: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run a one-node graph; return the node's outputs, failing the test if the run failed."""
        result = await self.run({"nodes": [{"id": "n", "type": node_type, "inputs": inputs}], "edges": []}, **kwargs)
        assert result.status == "completed", result.errors
        return result.outputs["n"].outputs

    async def blob(self, ref: dict[str, Any]) -> bytes:
        return await self.runtime.blobs.get(ref["sha256"])

    async def pixels(self, ref: dict[str, Any]) -> NDArray[np.uint8]:
        """Decode a stored output, checking that its recorded size matches the pixels."""
        decoded = decode_image(await self.blob(ref), self.runtime.settings.max_image_pixels)
        assert (decoded.shape[1], decoded.shape[0]) == (ref["width"], ref["height"])
        return decoded


async def new_workspace(runtime: Runtime) -> str:
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="image nodes", kind="team", plan="pro"))
    return workspace_id


@asynccontextmanager
async def open_node_env(runtime: Runtime) -> AsyncIterator[NodeEnv]:
    workspace_id = await new_workspace(runtime)

    def media(scope: RunScope) -> RunMediaStore:
        return RunMediaStore(
            db=runtime.db,
            blobs=runtime.blobs,
            settings=runtime.settings,
            workspace_id=scope.workspace_id,
            run_id=scope.run_id,
        )

    with GraphExecutor(
        settings=runtime.settings, store=SqlResultStore(runtime.db), providers=runtime.providers, media_factory=media
    ) as executor:
        yield NodeEnv(runtime, executor, workspace_id)
