"""Retention: finished runs lose their outputs after their plan's ``retention_days``, and deleted runs
(tombstones) are purged once the restore window has passed. Money history is never touched: ledger
entries name runs by id as text and stay.

A run's data goes in two steps, each one transaction opened by a compare-and-set on
``runs.data_state``, so two sweeping processes never both act on one run:

1. ``present -> releasing``: the run's output File rows (``files.run_id`` = the run) are deleted, its
   stored outputs and node results are cleared (a purge deletes its node executions), its node cache
   entries are dropped (they would hand later runs references to deleted files), and the digests of
   the deleted files and their thumbnails are kept in ``blobs_to_release``.
2. ``releasing -> removed``: each digest whose blob no File row (of any workspace) still names, as
   content or thumbnail, is deleted from the blob store.

What keeps an output: a File row of the run whose id or digest appears in the graph, outputs or node
results of another run of the workspace whose data is present (a cache hit hands later runs the
first run's references; a graph may name an output as input), or in a workflow's draft or published
graph, is not deleted but handed over: to the newest such run (so it expires with that run), or, when
only workflows name it, to the workspace (``run_id`` NULL, kept like an upload). Blobs are shared by
content, so step 2 keeps any blob another File row names: an upload, or another run's identical output.

The check of step 2 runs after step 1 committed, so of two processes releasing runs that share a blob
the later check sees both runs' rows gone and deletes it. Step 1 takes the workspace's row lock on
PostgreSQL (SQLite serialises writers anyway), so two processes never judge each other's runs as
live holders at the same time. A crash between the steps leaves the run ``releasing``; the next sweep
finishes it. A tombstone's run row is deleted after both steps: whoever deleted a run asked for it
to go; only its ledger entries remain. Known gap: bytes identical to a blob being released, stored at
that moment by an upload or a node, can lose their blob if the check runs between the store and the
commit of their File row (a content-addressed store without reference counts cannot close this).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Text, and_, cast, delete, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import File, NodeCacheEntry, NodeExecution, Run, Workflow, WorkflowVersion, Workspace
from pixelmill.db.session import Database
from pixelmill.engine.hashing import cache_key
from pixelmill.events.log import purge as purge_events
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.storage.base import BlobStore

log = logging.getLogger("pixelmill.retention")

DEFAULT_BATCH = 100

_Finder = Callable[[], Awaitable[list[tuple[str, str]]]]
_Action = Callable[[str, str], Awaitable[None]]


@dataclass
class RetentionReport:
    """What one sweep did; two concurrent sweeps' reports add up to what happened once."""

    runs_removed: int = 0  # runs whose outputs went (expired or purged tombstones)
    files_deleted: int = 0
    files_handed_over: int = 0  # output files kept because something live names them
    blobs_deleted: int = 0
    runs_purged: int = 0  # tombstoned run rows deleted


@dataclass(frozen=True, slots=True)
class _OwnedFile:
    id: str
    sha256: str
    thumbnail_sha256: str | None


class RetentionSweeper:
    """Finds expired runs and due tombstones and removes their data, one run per transaction."""

    def __init__(self, db: Database, blobs: BlobStore, settings: Settings, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.batch_size = batch_size

    async def sweep(self, now: datetime | None = None) -> RetentionReport:
        """One full pass: leftovers of an interrupted pass, expired runs, then due tombstones."""
        now = now or utcnow()
        report = RetentionReport()
        await self._batches(self._releasing, lambda run_id, _ws: self._release(run_id, report))
        await self._batches(lambda: self._expired(now), lambda run_id, ws: self._remove_and_release(run_id, ws, report))
        cutoff = now - timedelta(seconds=self.settings.run_restore_window_seconds)
        await self._batches(
            lambda: self._tombstones(cutoff, "present"),
            lambda run_id, ws: self._remove_and_release(run_id, ws, report, purge_cutoff=cutoff),
        )
        await self._batches(
            lambda: self._tombstones(cutoff, "removed"), lambda run_id, _ws: self._purge(run_id, cutoff, report)
        )
        return report

    async def _batches(self, find: _Finder, act: _Action) -> None:
        # Every action moves its run out of what ``find`` selects (or finds another process did),
        # so each batch is new work and the loop ends.
        while True:
            batch = await find()
            for run_id, workspace_id in batch:
                await act(run_id, workspace_id)
            if len(batch) < self.batch_size:
                return

    # Finding work

    async def _select(self, query: Select[str, str]) -> list[tuple[str, str]]:
        async with self.db.sessions() as session:
            rows = await session.execute(query.limit(self.batch_size))
            return [(row[0], row[1]) for row in rows]

    async def _releasing(self) -> list[tuple[str, str]]:
        return await self._select(
            select(Run.id, Run.workspace_id).where(Run.data_state == "releasing").order_by(Run.id)
        )

    async def _expired(self, now: datetime) -> list[tuple[str, str]]:
        """Finished runs older than their workspace plan's retention, oldest first."""
        plans = self.settings.plans
        expired: list[ColumnElement[bool]] = [
            and_(Workspace.plan == name, Run.completed_at < now - timedelta(days=plan.retention_days))
            for name, plan in plans.items()
        ]
        fallback = self.settings.plan("")  # a plan removed from configuration counts as free, as everywhere
        expired.append(
            and_(Workspace.plan.not_in(list(plans)), Run.completed_at < now - timedelta(days=fallback.retention_days))
        )
        return await self._select(
            select(Run.id, Run.workspace_id)
            .join(Workspace, Workspace.id == Run.workspace_id)
            .where(Run.data_state == "present", Run.status.in_(list(TERMINAL_STATUSES)), or_(*expired))
            .order_by(Run.completed_at)
        )

    async def _tombstones(self, cutoff: datetime, state: str) -> list[tuple[str, str]]:
        return await self._select(
            select(Run.id, Run.workspace_id)
            .where(Run.deleted_at.is_not(None), Run.deleted_at <= cutoff, Run.data_state == state)
            .order_by(Run.deleted_at)
        )

    # Acting on one run

    async def _remove_and_release(
        self, run_id: str, workspace_id: str, report: RetentionReport, *, purge_cutoff: datetime | None = None
    ) -> None:
        if await self._remove(run_id, workspace_id, report, purge_cutoff=purge_cutoff):
            await self._release(run_id, report)

    async def _remove(
        self, run_id: str, workspace_id: str, report: RetentionReport, *, purge_cutoff: datetime | None
    ) -> bool:
        """Step 1; False when another process (or a restore) got to the run first."""
        async with self.db.session() as session:
            if session.get_bind().dialect.name != "sqlite":
                await session.execute(
                    select(Workspace.id).where(Workspace.id == workspace_id).with_for_update(key_share=True)
                )
            claim = (
                update(Run)
                .where(Run.id == run_id, Run.data_state == "present", Run.status.in_(list(TERMINAL_STATUSES)))
                .values(data_state="releasing", outputs=null())
            )
            if purge_cutoff is not None:  # a restore since the run was found wins
                claim = claim.where(Run.deleted_at.is_not(None), Run.deleted_at <= purge_cutoff)
            if (await session.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
                return False
            owned = [
                _OwnedFile(row[0], row[1], row[2])
                for row in await session.execute(
                    select(File.id, File.sha256, File.thumbnail_sha256).where(File.run_id == run_id)
                )
            ]
            holders = await _holders(session, workspace_id, run_id, owned)
            released: set[str] = set()
            gone = [item for item in owned if item.id not in holders]
            for item in owned:
                if item.id in holders:
                    await session.execute(update(File).where(File.id == item.id).values(run_id=holders[item.id]))
            if gone:
                await session.execute(delete(File).where(File.id.in_([item.id for item in gone])))
                for item in gone:
                    released.add(item.sha256)
                    if item.thumbnail_sha256 is not None:
                        released.add(item.thumbnail_sha256)
            await self._drop_node_results(session, run_id, workspace_id, purge=purge_cutoff is not None)
            await session.execute(update(Run).where(Run.id == run_id).values(blobs_to_release=sorted(released)))
        report.runs_removed += 1
        report.files_deleted += len(gone)
        report.files_handed_over += len(owned) - len(gone)
        return True

    async def _drop_node_results(self, session: AsyncSession, run_id: str, workspace_id: str, *, purge: bool) -> None:
        """Forget the cache entries this run's executed nodes wrote, then its node results."""
        computed = await session.scalars(
            select(NodeExecution.inputs_hash).where(
                NodeExecution.run_id == run_id,
                NodeExecution.cached.is_(False),
                NodeExecution.inputs_hash.is_not(None),
            )
        )
        keys = [cache_key(workspace_id, inputs_hash) for inputs_hash in computed if inputs_hash]
        if keys:
            await session.execute(delete(NodeCacheEntry).where(NodeCacheEntry.key.in_(keys)))
        if purge:
            await session.execute(delete(NodeExecution).where(NodeExecution.run_id == run_id))
        else:  # statuses, costs and times stay for the run's history; the references go
            await session.execute(update(NodeExecution).where(NodeExecution.run_id == run_id).values(outputs=null()))

    async def _release(self, run_id: str, report: RetentionReport) -> None:
        """Step 2: delete each released blob that no File row names any more."""
        async with self.db.session() as session:
            claim = update(Run).where(Run.id == run_id, Run.data_state == "releasing").values(data_state="removed")
            if (await session.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
                return
            pending = list(await session.scalar(select(Run.blobs_to_release).where(Run.id == run_id)) or [])
            named = set(await session.scalars(select(File.sha256).where(File.sha256.in_(pending))))
            named |= set(await session.scalars(select(File.thumbnail_sha256).where(File.thumbnail_sha256.in_(pending))))
            unused = [digest for digest in pending if digest not in named]
            # Deleted before the commit: a crash here leaves the run releasing and a retry deletes again.
            for digest in unused:
                await self.blobs.delete(digest)
            await session.execute(update(Run).where(Run.id == run_id).values(blobs_to_release=null()))
        report.blobs_deleted += len(unused)

    async def _purge(self, run_id: str, cutoff: datetime, report: RetentionReport) -> None:
        """Delete a due tombstone's row (its node executions with it); ledger entries stay."""
        async with self.db.session() as session:
            gone = await session.execute(
                delete(Run).where(
                    Run.id == run_id, Run.deleted_at.is_not(None), Run.deleted_at <= cutoff, Run.data_state == "removed"
                )
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                return
            await session.execute(delete(NodeExecution).where(NodeExecution.run_id == run_id))
        report.runs_purged += 1


async def _holders(
    session: AsyncSession, workspace_id: str, run_id: str, owned: Sequence[_OwnedFile]
) -> dict[str, str | None]:
    """For each owned file something live names (by id or digest): the newest naming run, or None
    when only workflows name it. Files absent from the answer are unreferenced."""
    if not owned:
        return {}
    tokens = sorted({item.id for item in owned} | {item.sha256 for item in owned})

    def mentions(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        text = cast(column, Text)
        return or_(*(text.contains(token, autoescape=True) for token in tokens))

    live = and_(Run.workspace_id == workspace_id, Run.data_state == "present", Run.id != run_id)
    alive = and_(Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None))
    no_run = cast(null(), String)
    statements: list[Select[str | None, str]] = [
        select(Run.id, cast(Run.graph, Text)).where(live, mentions(Run.graph)),
        select(Run.id, cast(Run.outputs, Text)).where(live, mentions(Run.outputs)),
        select(NodeExecution.run_id, cast(NodeExecution.outputs, Text))
        .join(Run, Run.id == NodeExecution.run_id)
        .where(live, mentions(NodeExecution.outputs)),
        select(no_run, cast(Workflow.graph, Text)).where(alive, mentions(Workflow.graph)),
        select(no_run, cast(WorkflowVersion.graph, Text))
        .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
        .where(alive, mentions(WorkflowVersion.graph)),
    ]
    texts: list[tuple[str | None, str]] = []
    for statement in statements:
        texts += [(row[0], row[1]) for row in await session.execute(statement)]
    holders: dict[str, str | None] = {}
    for item in owned:
        naming = [holder for holder, text in texts if item.id in text or item.sha256 in text]
        if naming:
            runs = [holder for holder in naming if holder is not None]
            holders[item.id] = max(runs) if runs else None  # ids sort by creation: the newest run
    return holders


async def retention_loop(db: Database, blobs: BlobStore, settings: Settings) -> None:
    """Sweep runs and purge old events now and then every interval, until cancelled; failures are logged and retried."""
    sweeper = RetentionSweeper(db, blobs, settings)
    while True:
        try:
            report = await sweeper.sweep()
            if report.runs_removed or report.runs_purged:
                log.info(
                    "retention sweep",
                    extra={
                        "runs_removed": report.runs_removed,
                        "runs_purged": report.runs_purged,
                        "blobs_deleted": report.blobs_deleted,
                    },
                )
        except Exception:
            log.exception("retention sweep failed")
        try:
            events_removed = await purge_events(db, settings.events_retention_days)
            if events_removed:
                log.info("event log purge", extra={"events_removed": events_removed})
        except Exception:
            log.exception("event log purge failed")
        await asyncio.sleep(settings.retention_sweep_interval_seconds)
