"""Claims and leases: how a dispatcher takes queued runs and keeps them while it executes them.

A claim is one compare-and-set over a batch (``UPDATE runs SET status='running', lease_owner=:me,
lease_expires_at=…, attempt=attempt+1 WHERE id IN (…) AND status='queued' RETURNING …``), so two
dispatchers can never both take a run; the attempt number it sets fences the later finish. Which
runs to ask for comes from the queue policy (priority, round-robin across workspaces, plan
concurrency) in :mod:`pixelmill.services.run_queue`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run, Workspace
from pixelmill.db.session import Database
from pixelmill.services.run_lifecycle import RunHook, RunTransition, run_hooks, run_hooks_many
from pixelmill.services.run_queue import plan_claims, queue_groups

# A workspace's plan changes rarely; its concurrency limit may lag a change by this long.
PLAN_CACHE_SECONDS = 5.0


class _PlanCache:
    """Workspace -> plan name, remembered briefly so a claim does not read the workspaces table."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[str, float]] = {}

    def fresh(self, workspace_id: str) -> bool:
        entry = self._entries.get(workspace_id)
        return entry is not None and time.monotonic() - entry[1] < self._ttl

    def get(self, workspace_id: str) -> str:
        entry = self._entries.get(workspace_id)
        return entry[0] if entry is not None else ""

    def put(self, workspace_id: str, plan: str) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[workspace_id] = (plan, time.monotonic())


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """What executing a claimed run needs, read in the claim itself."""

    id: str
    workspace_id: str
    graph: dict[str, Any]
    test_mode: bool
    attempt: int
    credits_reserved: int
    cancel_requested: bool


class ClaimDeferred(Exception):
    """A named claim not made now: the run stays queued and its message is retried later."""


class WorkspaceAtLimit(ClaimDeferred):
    """A named claim refused because the run's workspace executes its plan's concurrency already."""

    def __init__(self, run_id: str, workspace_id: str, limit: int) -> None:
        super().__init__(f"workspace {workspace_id} already executes {limit} run(s); {run_id} stays queued")
        self.run_id = run_id
        self.workspace_id = workspace_id
        self.limit = limit


class RunClaims:
    """The claim, lease and hand-back statements of one dispatcher (``owner``)."""

    def __init__(self, db: Database, settings: Settings, owner: str, hooks: Sequence[RunHook] = ()) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner
        self.hooks = hooks
        self._plans = _PlanCache(PLAN_CACHE_SECONDS)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    async def claim(self, slots: int, last_served: dict[str, float]) -> list[ClaimedRun]:
        """Claim up to ``slots`` queued runs in queue order; fewer when the queue is short, workspaces
        are at their concurrency limit, or another dispatcher took some first."""
        if slots <= 0:
            return []
        async with self.db.reads() as session:
            order = await self._plan(session, slots, last_served)
        if not order:
            return []
        now = utcnow()
        claimed: list[Run] = []
        async with self.db.session() as session:
            for workspace_id, count in Counter(order).items():
                # One statement per workspace: its next runs in queue order, taken only if still queued.
                oldest_first = (
                    select(Run.id)
                    .where(Run.status == "queued", Run.workspace_id == workspace_id)
                    .order_by(Run.priority.desc(), Run.created_at, Run.id)
                    .limit(count)
                    .scalar_subquery()
                )
                claimed += await session.scalars(
                    update(Run)
                    .where(Run.id.in_(oldest_first), Run.status == "queued")
                    .values(
                        status="running",
                        lease_owner=self.owner,
                        lease_expires_at=now + self.lease,
                        attempt=Run.attempt + 1,
                        started_at=func.coalesce(Run.started_at, now),
                    )
                    .returning(Run)
                    .execution_options(populate_existing=True, synchronize_session=False)
                )
            transitions = [RunTransition(run=run, previous="queued", status="running") for run in claimed]
            await run_hooks_many(session, self.hooks, transitions)  # one event insert for the batch
        # Back into the planned interleaving (A, B, A …), which the dispatcher records as the order served.
        turns: dict[str, list[int]] = {}
        for index, workspace_id in enumerate(order):
            turns.setdefault(workspace_id, []).append(index)
        claimed.sort(key=lambda run: (run.workspace_id, -run.priority, run.created_at, run.id))
        claimed.sort(key=lambda run: turns[run.workspace_id].pop(0))
        return [
            ClaimedRun(
                id=run.id,
                workspace_id=run.workspace_id,
                graph=run.graph,
                test_mode=run.test_mode,
                attempt=run.attempt,
                credits_reserved=run.credits_reserved,
                cancel_requested=run.cancel_requested_at is not None,
            )
            for run in claimed
        ]

    async def claim_run(self, run_id: str) -> ClaimedRun | None:
        """Claim one named run (a fleet worker's task names it); None when it is not queued any more,
        because another worker took it or it was cancelled: a redelivered task is then a no-op.
        :class:`WorkspaceAtLimit` when its workspace already executes its plan's ``concurrent_runs``:
        the run stays queued. The workspace row is locked first (as a create does), so two workers
        claiming runs of one workspace at once count each other's claims."""
        async with self.db.session() as session:
            target = (
                select(Run.workspace_id, Workspace.plan)
                .join(Workspace, Workspace.id == Run.workspace_id)
                .where(Run.id == run_id, Run.status == "queued")
            )
            if not self.db.is_sqlite:
                target = target.with_for_update(of=Workspace, key_share=True)
            found = (await session.execute(target)).first()
            if found is None:
                return None
            workspace_id, plan = found
            limit = self.settings.plan(plan).concurrent_runs
            running = await session.scalar(
                select(func.count()).where(Run.workspace_id == workspace_id, Run.status == "running")
            )
            if int(running or 0) >= limit:
                raise WorkspaceAtLimit(run_id, workspace_id, limit)
            now = utcnow()
            run = await session.scalar(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(
                    status="running",
                    lease_owner=self.owner,
                    lease_expires_at=now + self.lease,
                    attempt=Run.attempt + 1,
                    started_at=func.coalesce(Run.started_at, now),
                )
                .returning(Run)
                .execution_options(populate_existing=True, synchronize_session=False)
            )
            if run is None:
                return None
            await run_hooks(session, self.hooks, RunTransition(run=run, previous="queued", status="running"))
            return ClaimedRun(
                id=run.id,
                workspace_id=run.workspace_id,
                graph=run.graph,
                test_mode=run.test_mode,
                attempt=run.attempt,
                credits_reserved=run.credits_reserved,
                cancel_requested=run.cancel_requested_at is not None,
            )

    async def _plan(self, session: AsyncSession, slots: int, last_served: dict[str, float]) -> list[str]:
        groups = await queue_groups(session)
        if not groups:
            return []
        workspace_ids = sorted({group.workspace_id for group in groups})
        running_rows = await session.execute(
            select(Run.workspace_id, func.count())
            .where(Run.status == "running", Run.workspace_id.in_(workspace_ids))
            .group_by(Run.workspace_id)
        )
        running = {workspace_id: int(count) for workspace_id, count in running_rows.all()}
        unknown = [workspace_id for workspace_id in workspace_ids if not self._plans.fresh(workspace_id)]
        if unknown:
            plans = await session.execute(select(Workspace.id, Workspace.plan).where(Workspace.id.in_(unknown)))
            for workspace_id, plan in plans.all():
                self._plans.put(workspace_id, plan)
        limits = {ws: self.settings.plan(self._plans.get(ws)).concurrent_runs for ws in workspace_ids}
        return plan_claims(groups, slots=slots, running=running, limits=limits, last_served=last_served)

    async def extend(self, run_ids: Sequence[str]) -> None:
        """Heartbeat: push the leases of runs this dispatcher still executes."""
        if not run_ids:
            return
        async with self.db.session() as session:
            await session.execute(
                update(Run)
                .where(Run.id.in_(list(run_ids)), Run.status == "running", Run.lease_owner == self.owner)
                .values(lease_expires_at=utcnow() + self.lease)
            )

    async def cancel_requests(self, run_ids: Sequence[str]) -> list[str]:
        """Which of these runs were asked to cancel (by any process)."""
        if not run_ids:
            return []
        async with self.db.sessions() as session:
            found = await session.scalars(
                select(Run.id).where(Run.id.in_(list(run_ids)), Run.cancel_requested_at.is_not(None))
            )
            return list(found)

    async def hand_back(self, run_id: str, attempt: int) -> bool:
        """Put a run this dispatcher claimed back in the queue (a graceful stop); its finished nodes stay
        and the next claim resumes after them. False when the run is no longer this claim's."""
        async with self.db.session() as session:
            moved = await session.scalar(
                update(Run)
                .where(
                    Run.id == run_id,
                    Run.status == "running",
                    Run.attempt == attempt,
                    Run.lease_owner == self.owner,
                )
                .values(status="queued", lease_owner=None, lease_expires_at=None)
                .returning(Run)
                .execution_options(populate_existing=True)
            )
            if moved is None:
                return False
            await run_hooks(session, self.hooks, RunTransition(run=moved, previous="running", status="queued"))
            return True
