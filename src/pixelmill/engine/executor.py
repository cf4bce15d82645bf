"""The executor: runs a validated graph for one run, knowing nothing of HTTP or of the runs table.

- Nodes start in topological order as soon as their inputs are finished; independent branches run
  concurrently as asyncio tasks, at most ``max_concurrency`` at a time. CPU work goes to the
  executor's thread pool through ``ctx.run_blocking``.
- Every node's record is persisted as it finishes (see :mod:`pixelmill.engine.results`). Executing
  the same run again loads its completed nodes and skips them (resume), so nothing that finished
  runs twice. With ``hold_last`` the node that finishes the run (the last to start, with nothing
  else running) is returned unsaved instead, for the caller to write in the transaction that ends
  the run: one transaction less per run; a crash between the two re-executes only that node.
- Deterministic nodes with ``use_cache`` are looked up by their inputs hash first (unless ``trivial``:
  cheaper to compute than to look up); a hit is reported cached, costs 0, and ``run`` is not called.
- Cancel (``CancelToken``): no node starts after it; running nodes finish or stop at their next
  ``ctx.raise_if_cancelled()``; finished results and their costs remain.
- Memory: a node starts only when its working-set estimate fits the executor's memory budget
  (:mod:`pixelmill.engine.memory`), shared by every run of the process; until then it waits (the
  run stays running, the node not started), and one that could never fit fails at once.
- Failure is fail-fast: once a node fails no new node starts (its dependants could not run, and
  independent branches of a run that is failing would only spend credits), running ones finish.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pixelmill.config import Settings
from pixelmill.engine import compat
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import EventPump, ExecutionListener
from pixelmill.engine.memory import MemoryBudget, budget_bytes
from pixelmill.engine.node_runner import NodeRunner
from pixelmill.engine.outcome import ExecutionResult, NodeOutput, NodeReport, RunOutcome
from pixelmill.engine.results import NodeRecord, ResultStore, UnsavedResult
from pixelmill.engine.run_context import MediaStoreFactory, RunScope, RunServices
from pixelmill.engine.validation import ValidatedGraph
from pixelmill.providers.registry import ProviderRegistry

DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_PROGRESS_INTERVAL = 0.25  # seconds between node_progress events of one node


class GraphExecutor:
    """Executes validated graphs. Long-lived (one per process): it owns the worker thread pool."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: ResultStore,
        providers: ProviderRegistry | None = None,
        media_factory: MediaStoreFactory | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        blocking_threads: int | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        memory: MemoryBudget | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.settings = settings
        self.store = store
        self.providers = providers if providers is not None else ProviderRegistry()
        self.max_concurrency = max_concurrency
        self._media_factory = media_factory
        self._progress_interval = progress_interval
        self._clock = clock
        self.memory = memory if memory is not None else MemoryBudget(budget_bytes(settings))
        self._pool = ThreadPoolExecutor(
            max_workers=blocking_threads or min(8, os.cpu_count() or 2), thread_name_prefix="pixelmill-node"
        )

    def close(self) -> None:
        """Stop the worker threads (waiting for work in progress)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.memory.close()

    def __enter__(self) -> GraphExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def execute(
        self,
        graph: ValidatedGraph,
        scope: RunScope,
        *,
        cancel: CancelToken | None = None,
        listener: ExecutionListener | None = None,
        hold_last: bool = False,
        providers: ProviderRegistry | None = None,
    ) -> ExecutionResult:
        """Run ``graph`` as run ``scope.run_id``, resuming after the nodes it already finished;
        ``hold_last``: see the module docstring (the caller must write ``result.unsaved``);
        ``providers``: this run's (its workspace's keys), else the executor's."""
        cancel = cancel or CancelToken()
        pump = EventPump(listener)
        services = RunServices(
            scope=scope,
            settings=self.settings,
            providers=providers if providers is not None else self.providers,
            cancel=cancel,
            pool=self._pool,
            memory=self.memory,
            pump=pump,
            media_factory=self._media_factory,
            progress_interval=self._progress_interval,
            clock=self._clock,
        )
        runner = NodeRunner(graph, services, self.store)
        try:
            records, resumed = await self._schedule(graph, services, runner, hold_last)
        except BaseException:
            pump.abort()
            raise
        await pump.close()
        return _result(graph, records, resumed, tuple(runner.unsaved))

    async def _schedule(
        self, graph: ValidatedGraph, services: RunServices, runner: NodeRunner, hold_last: bool
    ) -> tuple[dict[str, NodeRecord], set[str]]:
        records = _resumable(graph, await self.store.completed_nodes(services.scope.run_id))
        resumed = set(records)
        outputs: dict[str, dict[str, Any]] = {
            node_id: record.outputs for node_id, record in records.items() if record.outputs is not None
        }
        position = {node_id: index for index, node_id in enumerate(graph.order)}
        waiting = {node_id: len(graph.upstream[node_id] - resumed) for node_id in graph.order if node_id not in resumed}
        ready = [(position[node_id], node_id) for node_id, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        unstarted = len(waiting)
        running: dict[asyncio.Task[NodeRecord | None], str] = {}
        failed = False
        try:
            while True:
                while ready and not failed and not services.cancel.cancelled and len(running) < self.max_concurrency:
                    _, node_id = heapq.heappop(ready)
                    unstarted -= 1
                    last = hold_last and unstarted == 0 and not running
                    task = asyncio.create_task(runner.run(node_id, outputs, hold=last), name=f"node:{node_id}")
                    running[task] = node_id
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: position[running[t]]):
                    node_id = running.pop(task)
                    record = task.result()  # only persistence errors are raised here
                    if record is None:
                        continue  # not started: the run was cancelled
                    records[node_id] = record
                    if record.status == "failed":
                        failed = True
                    if record.status != "completed" or record.outputs is None:
                        continue
                    outputs[node_id] = record.outputs
                    for child in graph.dependants[node_id]:
                        waiting[child] -= 1
                        if waiting[child] == 0:
                            heapq.heappush(ready, (position[child], child))
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        return records, resumed


def _resumable(graph: ValidatedGraph, completed: dict[str, NodeRecord]) -> dict[str, NodeRecord]:
    """Completed records of an earlier execution that still fit the graph: same node type, and every
    upstream node resumed too (so no kept result was computed from an input that will change)."""
    kept: dict[str, NodeRecord] = {}
    for node_id in graph.order:
        record = completed.get(node_id)
        if record is None or record.node_type != graph.nodes[node_id].type or record.outputs is None:
            continue
        if all(parent in kept for parent in graph.upstream[node_id]):
            kept[node_id] = record
    return kept


def _result(
    graph: ValidatedGraph, records: dict[str, NodeRecord], resumed: set[str], unsaved: tuple[UnsavedResult, ...]
) -> ExecutionResult:
    reports: dict[str, NodeReport] = {}
    outputs: dict[str, NodeOutput] = {}
    errors: list[dict[str, Any]] = []
    for node_id in graph.order:
        cls = graph.node_types[node_id]
        record = records.get(node_id)
        if record is None:
            reports[node_id] = NodeReport(node_id=node_id, node_type=cls.node_type, status="skipped")
            continue
        reports[node_id] = NodeReport(
            node_id=node_id,
            node_type=record.node_type,
            status=record.status,
            cached=record.cached,
            resumed=node_id in resumed,
            cost=record.cost,
            started_at=record.started_at,
            completed_at=record.completed_at,
            duration_ms=record.duration_ms,
            error=record.error,
        )
        if record.error is not None:
            errors.append(record.error)
        if record.status == "completed" and record.outputs is not None and not graph.nodes[node_id].is_intermediate:
            field = compat.primary_output(cls)
            outputs[node_id] = NodeOutput(
                node_type=cls.node_type,
                type=compat.node_output_type(cls),
                value=record.outputs.get(field),
                outputs=record.outputs,
            )
    status: RunOutcome
    if all(report.status == "completed" for report in reports.values()):
        status = "completed"
    elif errors:
        status = "failed"
    else:
        status = "cancelled"
    total = sum(record.cost for record in records.values() if record.status == "completed")
    return ExecutionResult(
        status=status, outputs=outputs, nodes=reports, total_cost=total, errors=errors, unsaved=unsaved
    )
