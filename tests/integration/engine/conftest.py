"""A workspace and run rows for executor tests on SQLite and PostgreSQL (node_executions needs its run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from pixelmill.db.models import Run, Workspace
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from tests.support.engine_nodes import ProbeState, reset_probes


@dataclass
class EngineEnv:
    runtime: Runtime
    executor: GraphExecutor
    workspace_id: str

    async def new_run(self, graph: dict[str, Any]) -> RunScope:
        run_id = new_id("run")
        async with self.runtime.db.session() as session:
            session.add(Run(id=run_id, workspace_id=self.workspace_id, status="running", graph=graph))
        return RunScope(run_id, self.workspace_id)


@pytest.fixture
def probes() -> ProbeState:
    return reset_probes()


@pytest.fixture
async def env(runtime: Runtime) -> AsyncIterator[EngineEnv]:
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="engine tests", kind="team", plan="pro"))
    with GraphExecutor(settings=runtime.settings, store=SqlResultStore(runtime.db)) as executor:
        yield EngineEnv(runtime, executor, workspace_id)
