"""Executing one node of a run: resolve inputs, consult the cache, run, persist, announce.

A node starts only once its working-set estimate is reserved in the process's memory budget
(:mod:`pixelmill.engine.admission`); the reservation ends with the node's work.

The order is fixed: the node's record is committed before its completion event is emitted, so an
event a client saw always has a persisted result behind it. A node's own failure becomes a
``failed`` record with an error ``{code, message, node_id}``; only persistence failures escape.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.engine import admission, compat, hashing
from pixelmill.engine.cancellation import RunCancelled
from pixelmill.engine.events import EventKind, NodeEvent
from pixelmill.engine.node import BaseNode
from pixelmill.engine.results import CacheEntry, NodeRecord, NodeStatus, ResultStore, UnsavedResult
from pixelmill.engine.run_context import NodeRunContext, RunServices
from pixelmill.engine.validation import ValidatedGraph, pydantic_message
from pixelmill.errors import PixelmillError

log = logging.getLogger("pixelmill.engine")

# How often a node waiting for memory looks whether its run was cancelled.
ADMISSION_POLL_SECONDS = 0.2


class NodeRunner:
    """Runs single nodes of one run against the outputs finished so far."""

    def __init__(self, graph: ValidatedGraph, services: RunServices, store: ResultStore) -> None:
        self._graph = graph
        self._services = services
        self._store = store
        self._run_id = services.scope.run_id
        self.unsaved: list[UnsavedResult] = []

    async def run(
        self, node_id: str, finished: Mapping[str, dict[str, Any]], *, hold: bool = False
    ) -> NodeRecord | None:
        """Execute ``node_id`` whose upstream outputs are in ``finished``; return its persisted record,
        or None when the run was cancelled before the node started (nothing is written then). With
        ``hold`` the record is not written but kept in ``unsaved`` for the caller to write."""
        cls = self._graph.node_types[node_id]
        started_at = utcnow()
        clock = time.perf_counter()
        try:
            instance = self._resolve(node_id, cls, finished)
            resolved = instance.model_dump(mode="json")
            inputs_hash = hashing.inputs_hash(cls.node_type, cls.version, resolved)
            cost = cls.priced_cost(resolved, self._services.settings.model_credit_costs)
        except Exception as exc:
            return await self._fail(node_id, cls, exc, None, started_at, hold)
        key = None
        if cls.results_cached() and self._graph.nodes[node_id].use_cache:
            key = hashing.cache_key(self._services.scope.workspace_id, inputs_hash)
            hit = await self._store.cached_outputs(key)
            if hit is not None:
                record = self._record(node_id, cls, "completed", inputs_hash, started_at, outputs=hit, cached=True)
                await self._save(UnsavedResult(record, cache_hit=key), hold)
                self._emit(record, "node_cached", cls, hold, duration_ms=(time.perf_counter() - clock) * 1000)
                return record
        if self._services.cancel.cancelled:
            return None  # cancelled while the cache was consulted: the node must not start
        try:
            need = await admission.estimate(instance, node_id, self._services)
        except Exception as exc:
            return await self._fail(node_id, cls, exc, inputs_hash, started_at, hold)
        if not await self._admit(need):
            return None  # cancelled while it waited for memory: it never started
        started_at, clock = utcnow(), time.perf_counter()  # it starts now, after any wait for memory
        context = NodeRunContext(self._services, node_id, cls.node_type)
        try:
            self._emit_start(node_id, cls)
            produced = await instance.run(context)
            outputs = _outputs_json(cls, produced)
        except RunCancelled:
            record = self._record(node_id, cls, "cancelled", inputs_hash, started_at)
            await self._save(UnsavedResult(record), hold)
            self._emit(record, "node_cancelled", cls, hold)
            return record
        except Exception as exc:
            return await self._fail(node_id, cls, exc, inputs_hash, started_at, hold)
        finally:
            self._services.memory.release(need)
        record = self._record(
            node_id, cls, "completed", inputs_hash, started_at, outputs=outputs, cost=cost, usage=context.usage
        )
        entry = CacheEntry(key, cls.node_type, outputs) if key is not None else None
        await self._save(UnsavedResult(record, cache_put=entry), hold)
        self._emit(record, "node_complete", cls, hold, duration_ms=(time.perf_counter() - clock) * 1000)
        return record

    async def _admit(self, need: int) -> bool:
        """Reserve ``need`` bytes of the memory budget, waiting while other work holds them; False
        (nothing reserved) when the run is cancelled meanwhile."""
        memory, cancel = self._services.memory, self._services.cancel
        if memory.try_reserve(need):
            return True
        waiting = asyncio.ensure_future(memory.reserve(need))
        try:
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=ADMISSION_POLL_SECONDS)
                if cancel.cancelled and not waiting.done():
                    waiting.cancel()
                    break
        finally:
            if not waiting.done():  # this task itself was cancelled
                waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        if waiting.cancelled():
            return False
        if cancel.cancelled:
            memory.release(need)
            return False
        return True

    def _resolve(self, node_id: str, cls: type[BaseNode], finished: Mapping[str, dict[str, Any]]) -> BaseNode:
        """The node's inputs: literals, then edge values (wrapped into a list where the edge says so)."""
        values = self._graph.literal_inputs(node_id)
        for name, source in self._graph.sources.get(node_id, {}).items():
            value = finished[source.node_id][source.field]
            values[name] = [value] if source.wrap else value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else None
            where = ".".join(str(part) for part in first["loc"]) or "inputs"
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Input {where} of node {node_id!r} ({cls.node_type}): {pydantic_message(first)}",
                node_id=node_id,
                field=field,
            ) from exc

    async def _save(self, result: UnsavedResult, hold: bool) -> None:
        if hold:
            self.unsaved.append(result)
        else:
            await self._store.save(self._run_id, result.record, cache_put=result.cache_put, cache_hit=result.cache_hit)

    async def _fail(
        self,
        node_id: str,
        cls: type[BaseNode],
        exc: Exception,
        inputs_hash: str | None,
        started_at: datetime,
        hold: bool,
    ) -> NodeRecord:
        error = _error_body(node_id, cls, exc)
        record = self._record(node_id, cls, "failed", inputs_hash, started_at, error=error)
        await self._save(UnsavedResult(record), hold)
        self._emit(record, "node_failed", cls, hold)
        return record

    @staticmethod
    def _record(
        node_id: str,
        cls: type[BaseNode],
        status: NodeStatus,
        inputs_hash: str | None,
        started_at: datetime,
        *,
        outputs: dict[str, Any] | None = None,
        cached: bool = False,
        cost: int = 0,
        error: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> NodeRecord:
        return NodeRecord(
            node_id=node_id,
            node_type=cls.node_type,
            status=status,
            inputs_hash=inputs_hash,
            outputs=outputs,
            cached=cached,
            cost=cost,
            error=error,
            started_at=started_at,
            completed_at=utcnow(),
            usage=usage,
        )

    def _emit_start(self, node_id: str, cls: type[BaseNode]) -> None:
        self._services.pump.emit(NodeEvent("node_start", self._run_id, node_id, cls.node_type))

    def _emit(
        self, record: NodeRecord, kind: EventKind, cls: type[BaseNode], held: bool, duration_ms: float | None = None
    ) -> None:
        if not self._services.pump.active:
            return
        self._services.pump.emit(
            NodeEvent(
                kind=kind,
                run_id=self._run_id,
                node_id=record.node_id,
                node_type=record.node_type,
                outputs=record.outputs,
                output_type=compat.node_output_type(cls) if record.outputs is not None else None,
                cost=record.cost,
                duration_ms=duration_ms if duration_ms is not None else record.duration_ms,
                error=record.error,
                held=held,
            )
        )


def _outputs_json(cls: type[BaseNode], produced: BaseModel) -> dict[str, Any]:
    if not isinstance(produced, cls.outputs_model):
        raise TypeError(f"{cls.__name__}.run returned {type(produced).__name__}, not {cls.outputs_model.__name__}")
    outputs = produced.model_dump(mode="json")
    try:
        hashing.canonical_json(outputs)
    except ValueError as exc:
        raise PixelmillError(errors.NODE_FAILED, f"Node type {cls.node_type!r} produced NaN or Infinity") from exc
    return outputs


def _error_body(node_id: str, cls: type[BaseNode], exc: Exception) -> dict[str, Any]:
    """``{code, message, node_id, …}``; a PixelmillError keeps its code and JSON-safe extras,
    anything else becomes NODE_FAILED with a message that reveals nothing of the exception's text."""
    if isinstance(exc, PixelmillError):
        extra: dict[str, Any] = {}
        for name, value in exc.extra.items():
            try:
                hashing.canonical_json(value)
            except (TypeError, ValueError):
                continue
            extra[name] = value
        return {**extra, "code": exc.code, "message": exc.message, "node_id": node_id}
    log.error("node %s (%s) failed", node_id, cls.node_type, exc_info=(type(exc), exc, exc.__traceback__))
    return {
        "code": errors.NODE_FAILED.code,
        "message": f"Node {node_id!r} ({cls.node_type}) failed unexpectedly ({type(exc).__name__})",
        "node_id": node_id,
    }
