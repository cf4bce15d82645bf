"""The public representation of a run (``GET /v1/runs/{run_id}``), built from its row, its node
executions, the queue and the in-process state of nodes that are executing right now.

Media outputs become absolute signed URLs on this server (fresh on every read) beside their stable
URLs; text and JSON outputs are plain values. Views of many runs load their node executions and the queue in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.models import NodeExecution, Run
from pixelmill.engine.values import OutputType
from pixelmill.json_bounds import scrub_json
from pixelmill.services import run_queue
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.services.run_outputs import public_entry

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

NodeStatus = Literal["pending", "running", "completed", "failed", "cancelled", "skipped"]

_NODES: Table = NodeExecution.__table__  # type: ignore[assignment]
# What a view shows of the node executions of some runs: one prebuilt Core select of these columns
# (not the outputs, which the run's row carries), for every read of a run. Its rows are read by
# attribute (row.status, row.cost …), as the model's would be.
_NODE_ROWS = select(
    _NODES.c.run_id,
    _NODES.c.node_id,
    _NODES.c.node_type,
    _NODES.c.status,
    _NODES.c.cached,
    _NODES.c.cost,
    _NODES.c.started_at,
    _NODES.c.completed_at,
    _NODES.c.error,
    _NODES.c.usage,
).where(_NODES.c.run_id.in_(bindparam("run_ids", expanding=True)))


class RunOutputPublic(BaseModel):
    type: OutputType
    value: Any = Field(
        description="A short-lived absolute signed URL for media (a list for images); the value otherwise"
    )
    url: str | list[str] | None = Field(
        default=None,
        exclude_if=lambda url: url is None,  # text and JSON outputs stay {"type", "value"}
        description=(
            "Media only: the stable URL /runs/{run_id}/{node_id}.{ext} (a list for images), the same on "
            "every read while the run keeps its outputs; read it with a key of the run's workspace"
        ),
    )


class RunNodePublic(BaseModel):
    node_id: str
    type: str
    status: NodeStatus
    cached: bool = False
    credits: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = Field(
        default=None, description="What an upstream provider reported: tokens, the model it used, revised prompt"
    )
    model: str | None = Field(
        default=None,
        description="The model the node calls, as a literal input named it; an operator alias shows as its target",
    )


class RunErrorPublic(BaseModel):
    code: str
    message: str
    node_id: str | None = None


class RunPublic(BaseModel):
    """A run as clients see it (the imageat shape, plus per-node detail)."""

    run_id: str
    object: Literal["run"] = "run"
    kind: str
    status: str
    mode: Literal["live", "test"]
    workflow_id: str | None
    workflow_version: int | None
    outputs: dict[str, RunOutputPublic]
    nodes: list[RunNodePublic]
    credits_reserved: int
    credits_used: int
    error: RunErrorPublic | None
    queue_position: int | None = Field(description="Runs the dispatcher will claim before this one, while queued")
    priority: int
    attempt: int
    metadata: dict[str, Any] | None
    data_removed: bool = Field(
        default=False, description="Retention removed the outputs (the plan's retention_days passed); the run stays"
    )
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class RunViews:
    """Builds RunPublic for runs of one workspace; ``base_url`` is where clients reach this server."""

    def __init__(self, session: AsyncSession, runtime: Runtime, base_url: str) -> None:
        self.session = session
        self.runtime = runtime
        self.base_url = base_url.rstrip("/")

    async def one(self, run: Run) -> RunPublic:
        return (await self.many([run]))[0]

    async def many(self, runs: Sequence[Run]) -> list[RunPublic]:
        if not runs:
            return []
        executions: dict[str, dict[str, Any]] = {run.id: {} for run in runs}
        for row in await self.session.execute(_NODE_ROWS, {"run_ids": [run.id for run in runs]}):
            executions[row.run_id][row.node_id] = row
        positions = await self._positions([run for run in runs if run.status == "queued"])
        return [self._view(run, executions[run.id], positions.get(run.id)) for run in runs]

    async def _positions(self, queued: Sequence[Run]) -> dict[str, int]:
        if not queued:
            return {}
        groups = await run_queue.queue_groups(self.session)
        served = self.runtime.run_signals.last_served
        return {
            run.id: run_queue.position(run, await run_queue.ahead_in_workspace(self.session, run), groups, served)
            for run in queued
        }

    def _view(self, run: Run, executions: dict[str, Any], queue_position: int | None) -> RunPublic:
        settings = self.runtime.settings
        outputs = {
            node_id: RunOutputPublic.model_validate(
                scrub_json(
                    public_entry(
                        output,
                        run_id=run.id,
                        node_id=node_id,
                        secret=settings.secret,
                        ttl=settings.signed_url_ttl_seconds,
                        base_url=self.base_url,
                        blobs=self.runtime.blobs,
                    )
                )
            )
            for node_id, output in (run.outputs or {}).items()
        }
        error = None
        if run.error:
            error = RunErrorPublic(
                code=str(run.error.get("code", "NODE_FAILED")),
                message=str(run.error.get("message", "")),
                node_id=run.error.get("node_id"),
            )
        return RunPublic(
            run_id=run.id,
            kind=run.kind,
            status=run.status,
            mode="test" if run.test_mode else "live",
            workflow_id=run.workflow_id,
            workflow_version=run.workflow_version,
            outputs=outputs,
            nodes=self._nodes(run, executions),
            credits_reserved=run.credits_reserved,
            credits_used=run.credits_used,
            error=error,
            queue_position=queue_position,
            priority=run.priority,
            attempt=run.attempt,
            metadata=scrub_json(run.run_metadata),
            data_removed=run.data_removed,
            created_at=run.created_at,
            started_at=run.started_at,
            completed_at=run.completed_at,
        )

    def _nodes(self, run: Run, executions: dict[str, Any]) -> list[RunNodePublic]:
        active = self.runtime.run_signals.active_nodes.get(run.id, {})
        terminal = run.status in TERMINAL_STATUSES
        nodes: list[RunNodePublic] = []
        for node in run.graph.get("nodes", []):
            node_id = str(node.get("id"))
            row = executions.get(node_id)
            started = active.get(node_id)
            model = (node.get("inputs") or {}).get("model")
            model = model if isinstance(model, str) else None
            if row is not None and not (started is not None and row.status != "completed"):
                nodes.append(
                    RunNodePublic(
                        node_id=node_id,
                        type=row.node_type,
                        status=row.status,  # completed | failed | cancelled
                        cached=row.cached,
                        credits=0 if run.test_mode else row.cost,
                        started_at=row.started_at,
                        completed_at=row.completed_at,
                        error=row.error,
                        usage=row.usage,
                        model=model,
                    )
                )
                continue
            status: NodeStatus = "skipped" if terminal else ("running" if started is not None else "pending")
            nodes.append(
                RunNodePublic(
                    node_id=node_id, type=str(node.get("type")), status=status, started_at=started, model=model
                )
            )
        return nodes
