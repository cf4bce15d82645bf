"""The embedded dispatcher: claims queued runs from the database and executes them in this process.

- One claim loop, woken at once by a create in this process (``RunSignals``) and otherwise every
  ``dispatch_poll_seconds``; at most ``worker_concurrency`` runs execute at once, each workspace at
  most its plan's ``concurrent_runs``, in the queue's order (priority, then round-robin across
  workspaces; see :mod:`pixelmill.services.run_queue`).
- Memory: nodes start within the executor's memory budget (:mod:`pixelmill.engine.memory`). While
  a node of this process waits for memory, no further run is claimed: it stays queued, for this
  process once memory is free or for another process (a fleet worker) that has it.
- A maintenance loop heartbeats the leases of the runs executing here, picks up cancels made by
  other processes, and re-queues runs whose owner stopped heartbeating.
- Start-up re-queues runs abandoned by a dead process (:mod:`pixelmill.dispatch.recovery`); they
  resume from their persisted node results.
- ``stop`` is graceful: no new claims, running nodes get ``shutdown_grace_seconds`` to finish (the
  executor starts no new node), then every unfinished run goes back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.db.session import Database
from pixelmill.dispatch.claims import ClaimDeferred, ClaimedRun, RunClaims
from pixelmill.dispatch.recovery import requeue_abandoned
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.memory import MemoryBudget
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results import NodeRecord
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.services.run_events import NodeEventBatch
from pixelmill.services.run_lifecycle import TerminalStatus, finish
from pixelmill.storage.media_store import RunMediaStore

if TYPE_CHECKING:
    from pixelmill.engine.context import MediaStore
    from pixelmill.runtime import Runtime

log = logging.getLogger("pixelmill.dispatch")


@dataclass
class _Execution:
    run: ClaimedRun
    token: CancelToken = field(default_factory=CancelToken)
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False  # a client cancelled: finish as cancelled
    shutting_down: bool = False  # this process stops: hand the run back unless it finished
    events: NodeEventBatch | None = None  # its node events, written in batches (services/run_events.py)


class _FreshAwareStore(SqlResultStore):
    """The SQL result store, minus the resume lookup for runs on their first attempt (nothing of
    theirs can be persisted yet), which saves one query per run on the hot path."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.fresh: set[str] = set()

    async def completed_nodes(self, run_id: str) -> dict[str, NodeRecord]:
        if run_id in self.fresh:
            return {}
        return await super().completed_nodes(run_id)

    async def executed_cost(self, run_id: str) -> int:
        """What the run's persisted completed nodes cost, this attempt's included."""
        records = await super().completed_nodes(run_id)
        return sum(record.cost for record in records.values())


class MemoryBusy(ClaimDeferred):
    """A named claim refused because a node of this process already waits for memory."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"a node here waits for memory; {run_id} stays queued")
        self.run_id = run_id


def default_owner() -> str:
    """A name for this dispatcher that no other process shares (host, pid, and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LocalDispatcher:
    """Executes the database's queued runs inside this process (``settings.dispatch == "local"``)."""

    def __init__(self, runtime: Runtime, *, owner: str | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.owner = owner or default_owner()
        self.signals = runtime.run_signals
        self.claims = RunClaims(runtime.db, runtime.settings, self.owner, runtime.run_hooks)
        self._store = _FreshAwareStore(runtime.db)
        self._executor = GraphExecutor(
            settings=runtime.settings,
            store=self._store,
            providers=runtime.providers,
            media_factory=self._media,
        )
        self._active: dict[str, _Execution] = {}
        self._stopping = False
        self._claim_task: asyncio.Task[None] | None = None
        self._maintenance_task: asyncio.Task[None] | None = None
        self.signals.on_cancel(self._cancel_local)

    def _media(self, scope: RunScope) -> MediaStore:
        return RunMediaStore(
            db=self.runtime.db,
            blobs=self.runtime.blobs,
            settings=self.settings,
            workspace_id=scope.workspace_id,
            run_id=scope.run_id,
        )

    @property
    def memory(self) -> MemoryBudget:
        """The memory budget the nodes executing here share."""
        return self._executor.memory

    @property
    def active_runs(self) -> list[str]:
        return list(self._active)

    async def start(self, *, claim_queued: bool = True) -> None:
        """Re-queue what a dead process left running, then start claiming. A fleet worker passes
        ``claim_queued=False``: its broker names the runs it executes (:meth:`execute_named`)."""
        await requeue_abandoned(
            self.runtime.db,
            owner=self.owner,
            all_foreign=self.settings.is_embedded_database,
            hooks=self.runtime.run_hooks,
        )
        if claim_queued:
            self._claim_task = asyncio.create_task(self._claim_loop(), name="pixelmill-dispatch-claims")
        self._maintenance_task = asyncio.create_task(self._maintenance_loop(), name="pixelmill-dispatch-maintenance")

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming, let running nodes finish for ``grace`` seconds, hand back what is left."""
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        self._stopping = True
        self.signals.run_queued()  # wake the claim loop so it sees _stopping
        if self._maintenance_task is not None:
            self._maintenance_task.cancel()  # its statements are idempotent
        # The claim loop finishes its step: a claim cut short after its commit would strand runs.
        loops = [task for task in (self._claim_task, self._maintenance_task) if task is not None]
        await asyncio.gather(*loops, return_exceptions=True)
        self.signals.off_cancel(self._cancel_local)
        executions = list(self._active.values())
        for execution in executions:
            execution.shutting_down = True
            execution.token.cancel()  # the executor starts no further node
        tasks = [execution.task for execution in executions if execution.task is not None]
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            for execution in executions:
                if execution.task in late:
                    await self._hand_back(execution)
        await asyncio.to_thread(self._executor.close)

    # -- claiming ---------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        poll = self.settings.dispatch_poll_seconds
        while not self._stopping:
            free = self.settings.worker_concurrency - len(self._active)
            if self.memory.waiting:
                free = 0  # more runs would only wait for memory too: leave them queued
            claimed: list[ClaimedRun] = []
            if free > 0:
                try:
                    claimed = await self.claims.claim(free, self.signals.last_served)
                except Exception:
                    log.exception("claiming queued runs failed; retrying")
            now = time.monotonic()
            for index, run in enumerate(claimed):
                self.signals.last_served[run.workspace_id] = now + index * 1e-6
                self._start(run)
            if not claimed or len(self._active) >= self.settings.worker_concurrency:
                await self.signals.wait_for_work(poll)

    def _start(self, run: ClaimedRun) -> None:
        execution = _Execution(run=run)
        if run.cancel_requested:
            execution.cancel_requested = True
            execution.token.cancel()
        if run.attempt == 1:
            self._store.fresh.add(run.id)
        self._active[run.id] = execution
        execution.task = asyncio.create_task(self._execute(execution), name=f"run:{run.id}")

    async def execute_named(self, run_id: str) -> bool:
        """Claim ``run_id`` and execute it here to its end, with the same lease, heartbeat, executor
        and finish as a claimed-from-the-queue run. False when the run was not queued (taken);
        :class:`MemoryBusy` (the run stays queued) while a node here waits for memory."""
        if self._stopping:
            return False
        if self.memory.waiting:
            raise MemoryBusy(run_id)
        run = await self.claims.claim_run(run_id)
        if run is None:
            return False
        self._start(run)
        task = self._active[run.id].task
        assert task is not None
        await task
        return True

    def _cancel_local(self, run_id: str) -> None:
        execution = self._active.get(run_id)
        if execution is not None:
            execution.cancel_requested = True
            execution.token.cancel()

    # -- executing --------------------------------------------------------------------------------

    async def _execute(self, execution: _Execution) -> None:
        run = execution.run
        try:
            await self._execute_claimed(execution)
        except asyncio.CancelledError:
            raise  # a stop past its grace period: stop() hands the run back
        except Exception:
            log.exception("executing run %s failed", run.id, extra={"run_id": run.id})
            with contextlib.suppress(Exception):
                if run.attempt < self.settings.max_run_attempts:
                    await self._hand_back(execution)
                else:
                    await self._finish(execution, "failed", error=_internal_error("The run could not be executed"))
        finally:
            self._active.pop(run.id, None)
            self._store.fresh.discard(run.id)
            self.signals.active_nodes.pop(run.id, None)
            self.signals.run_queued()  # a slot is free

    async def _execute_claimed(self, execution: _Execution) -> None:
        run = execution.run
        if run.attempt > self.settings.max_run_attempts:
            message = f"The run was abandoned after {run.attempt - 1} attempts that did not finish"
            await self._finish(execution, "failed", error=_internal_error(message))
            return
        try:
            graph = validate_graph(run.graph, self.runtime.nodes, self.settings)
        except PixelmillError as exc:  # a node type was removed since the run was queued
            await self._finish(execution, "failed", error=exc.body()["error"])
            return
        scope = RunScope(run.id, run.workspace_id, test_mode=run.test_mode)
        # Read at run time, so a key saved through the API serves this run wherever it executes.
        providers = await self.runtime.workspace_providers.registry_in(self.runtime.db, run.workspace_id)
        writer = self.runtime.run_events
        execution.events = writer.node_listener(run.id, run.workspace_id) if writer is not None else None
        try:
            # The last node's record is written by _finish, in the transaction that ends the run.
            result = await self._executor.execute(
                graph,
                scope,
                cancel=execution.token,
                listener=self._node_listener(run.id, execution.events),
                hold_last=True,
                providers=providers,
            )
        except Exception:
            await self._write_node_events(execution)
            raise
        if result.status == "cancelled" and execution.shutting_down and not execution.cancel_requested:
            async with self.runtime.db.session() as session:
                for unsaved in result.unsaved:
                    await self._store.save_in(session, run.id, unsaved)
            await self._write_node_events(execution)
            await self._hand_back(execution)
            return
        await self._finish(execution, result.status, result=result)

    def _node_listener(self, run_id: str, record: NodeEventBatch | None) -> Any:
        nodes = self.signals.active_nodes.setdefault(run_id, {})

        async def listen(event: NodeEvent) -> None:
            if event.kind == "node_start":
                nodes[event.node_id] = utcnow()
            elif event.kind != "node_progress" and not event.held:
                # A held node stays "running" in views until its row commits with the run's end:
                # a view shows as finished only what is durable.
                nodes.pop(event.node_id, None)
            if record is not None:
                await record(event)  # collected, then written in a batch (services/run_events.py)

        return listen

    async def _write_node_events(self, execution: _Execution) -> None:
        """Write the run's node events still collected, in a transaction of their own."""
        if execution.events is not None:
            try:
                await execution.events.write_rest()
            except Exception:
                log.exception("writing the node events of run %s failed", execution.run.id)

    async def _finish(
        self,
        execution: _Execution,
        status: TerminalStatus,
        *,
        result: ExecutionResult | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        run = execution.run
        outputs = None
        used = 0
        if result is not None:
            outputs = {node_id: {"type": out.type, "value": out.value} for node_id, out in result.outputs.items()}
            used = 0 if run.test_mode else result.total_cost
            error = result.error if status == "failed" else None
        elif not run.test_mode:
            # Failed without an execution result (past its last attempt, an unexpected error, a node
            # type gone): settled like any failure, what executed is captured and the rest released.
            used = await self._store.executed_cost(run.id)
        # The node events not written yet go into the terminal transaction, ahead of its event.
        earlier = await execution.events.take() if execution.events is not None else []
        async with self.runtime.db.session() as session:
            moved = await finish(
                session,
                run.id,
                expected="running",
                status=status,
                credits_used=used,
                error=error,
                outputs=outputs,
                attempt=run.attempt,
                hooks=self.runtime.run_hooks,
                earlier_events=earlier,
            )
            # Held back by the executor: the last node's record commits with the terminal move (and
            # is kept, as it would have been, when another process took the run over).
            for unsaved in result.unsaved if result is not None else ():
                await self._store.save_in(session, run.id, unsaved)
        if moved is None:
            log.warning("run %s was taken over before it finished here; its result is dropped", run.id)
            if earlier and self.runtime.run_events is not None:
                async with self.runtime.db.session() as session:
                    await self.runtime.run_events.log.append(session, earlier)
            return
        self.signals.run_finished(run.id, moved.run)

    async def _hand_back(self, execution: _Execution) -> None:
        if await self.claims.hand_back(execution.run.id, execution.run.attempt):
            log.info("run %s handed back to the queue", execution.run.id)

    # -- maintenance ------------------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        interval = min(1.0, self.settings.lease_seconds / 3)
        heartbeat_every = self.settings.lease_seconds / 3
        sweep_every = self.settings.lease_seconds / 2
        last_heartbeat = last_sweep = time.monotonic()
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                running = self.active_runs
                for run_id in await self.claims.cancel_requests(running):
                    self._cancel_local(run_id)
                now = time.monotonic()
                if running and now - last_heartbeat >= heartbeat_every:
                    await self.claims.extend(running)
                    last_heartbeat = now
                if now - last_sweep >= sweep_every:
                    last_sweep = now
                    requeued = await requeue_abandoned(
                        self.runtime.db, owner=self.owner, all_foreign=False, hooks=self.runtime.run_hooks
                    )
                    if requeued:
                        self.signals.run_queued()
            except Exception:
                log.exception("dispatcher maintenance failed; retrying")


def _internal_error(message: str) -> dict[str, Any]:
    return {"code": errors.INTERNAL_ERROR.code, "message": message, "node_id": None}
