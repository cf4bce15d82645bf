"""Run one image node in this process on a stored image and print its peak working memory (Linux).

    python -m tests.support.node_rss bomb|photo WIDTH HEIGHT NODE_TYPE [INPUTS_JSON]

Default limits (only the data directory is set). The image is an all-black 1-bit PNG (``bomb``: a
few kilobytes even at 49 Mpx) or a real photograph (``photo``), stored and recorded as a file
without being decoded here, so no freed decode buffers lie around for the node to reuse unseen.
Then the process collects garbage, hands freed heap back
(``malloc_trim``), reads its resident set and resets its peak (``/proc/self/clear_refs``); then it
executes the one-node graph and reads the peak (VmHWM). Printed as JSON: the run's status and
error, the working set (peak minus the resident set before) and the memory budget.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

import pixelmill.nodes  # noqa: F401 - registers the node types
from pixelmill.config import Settings
from pixelmill.db.migrate import upgrade
from pixelmill.db.models import File, Run, Workspace
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import default_registry
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from pixelmill.storage.codecs import encode_image
from pixelmill.storage.media_store import RunMediaStore, store_blob
from tests.support.images import photo_like


def status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def settle() -> int:
    """Collect garbage, hand freed heap back, reset the peak; the resident set in bytes."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    resident = status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    return resident


def png(kind: str, width: int, height: int) -> bytes:
    if kind == "photo":
        return encode_image(photo_like(width, height))
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


async def measure(
    directory: Path, kind: str, width: int, height: int, node_type: str, inputs: dict[str, Any]
) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{directory / 'rss.db'}"
    upgrade(url)
    settings = Settings(data_dir=directory / "data", database_url=url)
    runtime = Runtime.create(settings)
    blob = await store_blob(runtime.blobs, png(kind, width, height))
    workspace_id, file_id = new_id("ws"), new_id("file")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="rss", kind="team", plan="pro"))
    async with runtime.db.session() as session:
        session.add(
            File(
                id=file_id,
                workspace_id=workspace_id,
                sha256=blob.sha256,
                mime="image/png",
                size=blob.size,
                width=width,
                height=height,
            )
        )
    graph = {
        "nodes": [{"id": "n", "type": node_type, "inputs": {"image": {"file_id": file_id}, **inputs}}],
        "edges": [],
    }
    run_id = new_id("run")
    async with runtime.db.session() as session:
        session.add(Run(id=run_id, workspace_id=workspace_id, status="running", graph=graph))

    def media(scope: RunScope) -> RunMediaStore:
        return RunMediaStore(
            db=runtime.db, blobs=runtime.blobs, settings=settings, workspace_id=scope.workspace_id, run_id=scope.run_id
        )

    with GraphExecutor(settings=settings, store=SqlResultStore(runtime.db), media_factory=media) as executor:
        before = settle()
        result = await executor.execute(
            validate_graph(graph, default_registry, settings), RunScope(run_id, workspace_id)
        )
        peak = status_bytes("VmHWM")
        budget = executor.memory.limit
    await runtime.close()
    return {
        "status": result.status,
        "error": result.errors[0] if result.errors else None,
        "working_set": peak - before,
        "peak": peak,
        "budget": budget,
    }


def main() -> None:
    kind, width, height, node_type = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    inputs = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    with tempfile.TemporaryDirectory() as directory:
        print(json.dumps(asyncio.run(measure(Path(directory), kind, width, height, node_type, inputs))))


if __name__ == "__main__":
    main()
