"""install_examples on SQLite and PostgreSQL: five published workflows, once, ready for runs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pixelmill.db.models import Workflow, WorkflowVersion, Workspace
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from pixelmill.services.examples import examples, install_examples
from pixelmill.services.workflows import WorkflowService


async def new_workspace(runtime: Runtime) -> str:
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="fresh", kind="team", plan="pro"))
    return workspace_id


@pytest.mark.anyio
async def test_a_fresh_workspace_gets_every_example_published_once(runtime: Runtime) -> None:
    workspace_id = await new_workspace(runtime)
    async with runtime.db.session() as session:
        created = await install_examples(session, workspace_id)
    async with runtime.db.session() as session:
        again = await install_examples(session, workspace_id)
    assert [workflow.name for workflow in created] == [example.name for example in examples()]
    assert again == []
    async with runtime.db.session() as session:
        service = WorkflowService(session, runtime.settings, runtime.nodes)
        for workflow, example in zip(created, examples(), strict=True):
            graph, number = await service.published_graph(workspace_id, workflow.id)
            assert (graph, number) == (example.graph, 1)
        count = await session.scalar(
            select(func.count())
            .select_from(WorkflowVersion)
            .join(Workflow)
            .where(Workflow.workspace_id == workspace_id)
        )
    assert count == 5


@pytest.mark.anyio
async def test_examples_roll_back_with_the_transaction_that_made_them(runtime: Runtime) -> None:
    workspace_id = await new_workspace(runtime)

    class Abort(Exception):
        pass

    async def install_then_fail() -> None:
        async with runtime.db.session() as session:
            await install_examples(session, workspace_id)
            raise Abort

    with pytest.raises(Abort):
        await install_then_fail()
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).where(Workflow.workspace_id == workspace_id)) == 0
