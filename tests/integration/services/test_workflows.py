"""WorkflowService.published_graph, the door runs use: only the latest published graph of a live workflow."""

from __future__ import annotations

from typing import Any

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.workflows import WorkflowService
from tests.support.accounts import seed_account_async


def graph(value: float) -> dict[str, Any]:
    return {"nodes": [{"id": "n", "type": "math.add", "inputs": {"a": value, "b": 1}}]}


async def principal_of(runtime: Runtime) -> Principal:
    seeded = await seed_account_async(runtime.db)
    return Principal(workspace_id=seeded.workspace_id, plan="pro", user_id=seeded.user_id, role="owner")


@pytest.mark.anyio
async def test_published_graph_is_the_latest_published_version_not_the_draft(runtime: Runtime) -> None:
    owner = await principal_of(runtime)
    async with runtime.db.session() as session:
        service = WorkflowService(session, runtime.settings)
        row = await service.create(owner, name="w", graph=graph(1))
        await service.publish(owner, row.id)
        await service.update(owner, row.id, expected_version=1, graph=graph(2))
        await service.publish(owner, row.id)
        await service.update(owner, row.id, expected_version=2, graph=graph(3))
    async with runtime.db.session() as session:
        published, number = await WorkflowService(session, runtime.settings).published_graph(owner.workspace_id, row.id)
    assert number == 2
    assert published["nodes"][0]["inputs"] == {"a": 2, "b": 1}


@pytest.mark.anyio
async def test_published_graph_is_not_found_for_unpublished_foreign_deleted_and_unknown(runtime: Runtime) -> None:
    owner = await principal_of(runtime)
    stranger = await principal_of(runtime)
    async with runtime.db.session() as session:
        service = WorkflowService(session, runtime.settings)
        draft = await service.create(owner, name="draft", graph=graph(1))
        gone = await service.create(owner, name="gone", graph=graph(1))
        await service.publish(owner, gone.id)
        await service.delete(owner, gone.id)
        shared = await service.create(owner, name="published", graph=graph(1))
        await service.publish(owner, shared.id)
    cases = [
        (owner.workspace_id, draft.id),
        (owner.workspace_id, gone.id),
        (stranger.workspace_id, shared.id),
        (owner.workspace_id, "wf_unknown"),
    ]
    async with runtime.db.session() as session:
        service = WorkflowService(session, runtime.settings)
        for workspace_id, workflow_id in cases:
            with pytest.raises(PixelmillError) as caught:
                await service.published_graph(workspace_id, workflow_id)
            assert (caught.value.code, caught.value.status) == ("NOT_FOUND", 404)
        assert (await service.published_graph(owner.workspace_id, shared.id))[1] == 1


@pytest.mark.anyio
async def test_a_key_without_the_workflows_scope_is_refused(runtime: Runtime) -> None:
    owner = await principal_of(runtime)
    narrow = Principal(workspace_id=owner.workspace_id, plan="pro", key_id="key_x", scopes=frozenset({"runs"}))
    async with runtime.db.session() as session:
        with pytest.raises(PixelmillError) as caught:
            await WorkflowService(session, runtime.settings).create(narrow, name="w", graph=graph(1))
    assert caught.value.code == "INSUFFICIENT_SCOPE"
