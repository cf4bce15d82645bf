"""An executor with the real MediaStore for video, audio and infographic node tests.

Each test module opens it in its own ``media`` fixture (``async with open_media_env(runtime)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import select

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.db.models import File, Run, Workspace
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import ExecutionListener
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import default_registry
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from pixelmill.storage.media_store import RunMediaStore


@dataclass
class MediaEnv:
    runtime: Runtime
    executor: GraphExecutor
    workspace_id: str

    def store(self, run_id: str | None) -> RunMediaStore:
        return media_store(self.runtime, self.workspace_id, run_id)

    async def upload(self, picture: Image.Image) -> dict[str, str]:
        """Store a picture as an uploaded file; the literal input that names it."""
        ref = await self.store(None).save_image(picture, format="png")
        assert ref.file_id is not None
        return {"file_id": ref.file_id}

    async def run(
        self, graph: dict[str, Any], *, cancel: CancelToken | None = None, listener: ExecutionListener | None = None
    ) -> ExecutionResult:
        validated = validate_graph(graph, default_registry, self.runtime.settings)
        run_id = new_id("run")
        async with self.runtime.db.session() as session:
            session.add(Run(id=run_id, workspace_id=self.workspace_id, status="running", graph=graph))
        return await self.executor.execute(
            validated, RunScope(run_id, self.workspace_id), cancel=cancel, listener=listener
        )

    async def blob(self, ref: dict[str, Any]) -> bytes:
        return await self.runtime.blobs.get(ref["sha256"])

    async def file(self, ref: dict[str, Any]) -> File:
        async with self.runtime.db.session() as session:
            found = await session.scalar(select(File).where(File.id == ref["file_id"]))
        assert found is not None
        return found


def media_store(runtime: Runtime, workspace_id: str, run_id: str | None) -> RunMediaStore:
    return RunMediaStore(
        db=runtime.db, blobs=runtime.blobs, settings=runtime.settings, workspace_id=workspace_id, run_id=run_id
    )


def one_node(node_type: str, **inputs: Any) -> dict[str, Any]:
    return {"nodes": [{"id": "n", "type": node_type, "inputs": inputs}]}


@asynccontextmanager
async def open_media_env(runtime: Runtime) -> AsyncIterator[MediaEnv]:
    """A fresh workspace and an executor whose runs store media through RunMediaStore."""
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="media tests", kind="team", plan="pro"))
    executor = GraphExecutor(
        settings=runtime.settings,
        store=SqlResultStore(runtime.db),
        providers=runtime.providers,
        media_factory=lambda scope: media_store(runtime, workspace_id, scope.run_id),
    )
    with executor:
        yield MediaEnv(runtime, executor, workspace_id)
