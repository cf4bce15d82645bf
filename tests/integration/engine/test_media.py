"""Media along edges: a node stores an image through the run's MediaStore, the next loads it back."""

from __future__ import annotations

import pytest

from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.storage.media_store import RunMediaStore
from tests.integration.engine.conftest import EngineEnv
from tests.support.engine_nodes import ProbeState, probe_registry


@pytest.mark.anyio
async def test_an_image_reference_flows_from_one_node_to_the_next(env: EngineEnv, probes: ProbeState) -> None:
    runtime = env.runtime
    created: list[RunScope] = []

    def media_for(scope: RunScope) -> RunMediaStore:
        created.append(scope)
        return RunMediaStore(
            db=runtime.db,
            blobs=runtime.blobs,
            settings=runtime.settings,
            workspace_id=scope.workspace_id,
            run_id=scope.run_id,
        )

    graph = {
        "nodes": [
            {"id": "draw", "type": "probe.draw", "inputs": {"width": 64, "height": 48}},
            {"id": "measure", "type": "probe.measure"},
        ],
        "edges": [
            {"source": {"node_id": "draw", "field": "image"}, "destination": {"node_id": "measure", "field": "image"}}
        ],
    }
    scope = await env.new_run(graph)
    with GraphExecutor(
        settings=runtime.settings, store=SqlResultStore(runtime.db), media_factory=media_for
    ) as executor:
        result = await executor.execute(validate_graph(graph, probe_registry, runtime.settings), scope)
    assert result.status == "completed", result.errors
    assert created == [scope]  # one media store per run, made on first use
    drawn = result.outputs["draw"]
    assert drawn.type == "image"
    assert (drawn.value["kind"], drawn.value["width"], drawn.value["height"]) == ("image", 64, 48)
    assert drawn.value["file_id"].startswith("file_")
    assert result.outputs["measure"].outputs == {"width": 64, "height": 48}
    assert probes.threads["colours"] == "(240, 200, 10) (20, 40, 200)"
