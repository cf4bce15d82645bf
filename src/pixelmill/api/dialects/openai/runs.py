"""The run behind every OpenAI request: created through ``RunService`` (validated, charged, queued,
on ``/v1/events``, cancellable at ``/v1/runs/{id}/cancel``), waited for, and read back.

OpenAI's endpoints answer with the result, so a route waits for its run to finish (as ``Prefer:
wait`` does on ``/v1/runs``); a run that fails answers with its error in OpenAI's envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.api.dialects.openai.translate import Plan, rename_field
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.run_outputs import output_refs
from pixelmill.services.run_views import RunPublic, RunViews
from pixelmill.services.runs import RunService, wait_for_terminal

# How long a request waits for its run; a longer run goes on and is read at /v1/runs/{id}.
RESULT_WAIT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Started:
    run: Run
    waiter: asyncio.Future[Run | None]


async def start(runtime: Runtime, principal: Principal, plan: Plan, metadata: Mapping[str, Any]) -> Started:
    """Create the run of ``plan`` (a graph error names the request parameter) and watch for its end."""
    waiter: asyncio.Future[Run | None] | None = None
    try:
        async with runtime.db.session() as session:
            try:
                dialect = {"name": "openai", **{k: v for k, v in metadata.items() if v is not None}}
                run = await RunService(session, runtime).create(principal, plan.graph, metadata={"dialect": dialect})
            except PixelmillError as exc:
                raise rename_field(exc, plan) from None
            waiter = runtime.run_signals.watch(run.id)  # before the commit: an instant finish is seen
    except BaseException:
        if waiter is not None:
            runtime.run_signals.unwatch(run.id, waiter)
        raise
    return Started(run, waiter)


async def finish(runtime: Runtime, started: Started, plan: Plan) -> Run:
    """The run once it completed; its error (naming the request parameter) when it failed."""
    run_id = started.run.id
    try:
        done = await wait_for_terminal(runtime, run_id, RESULT_WAIT_SECONDS, waiter=started.waiter)
    finally:
        runtime.run_signals.unwatch(run_id, started.waiter)
    waiter = started.waiter
    finished = waiter.result() if waiter.done() and not waiter.cancelled() else None
    if finished is None:
        async with runtime.db.reads() as session:
            finished = await session.get(Run, run_id)
    if not done or finished is None:
        raise PixelmillError(
            errors.SERVICE_UNAVAILABLE,
            f"Run {run_id} did not finish within {RESULT_WAIT_SECONDS:.0f} s; it goes on, GET /v1/runs/{run_id}",
            run_id=run_id,
        )
    if finished.status == "completed":
        return finished
    if finished.status == "cancelled":
        raise PixelmillError(errors.CONFLICT, f"Run {run_id} was cancelled", run_id=run_id)
    raise run_failure(finished, plan)


def run_failure(run: Run, plan: Plan) -> PixelmillError:
    """A failed run's stored error as the catalogue error it names."""
    stored = dict(run.error or {})
    code = str(stored.pop("code", errors.NODE_FAILED.code))
    message = str(stored.pop("message", errors.NODE_FAILED.message))
    spec = errors.spec_for(code) or errors.NODE_FAILED
    stored["run_id"] = run.id
    return rename_field(PixelmillError(spec, message, **stored), plan)


async def view(runtime: Runtime, run: Run, base_url: str) -> RunPublic:
    async with runtime.db.reads() as session:
        return await RunViews(session, runtime, base_url).one(run)


def media_refs(run: Run, node_ids: list[str]) -> list[dict[str, Any]]:
    """The stored media of ``node_ids``' outputs, in order (one per image of an ``images`` output)."""
    outputs = run.outputs or {}
    return [ref for node_id in node_ids for ref in output_refs(outputs.get(node_id) or {})]


def media_urls(public: RunPublic, node_ids: list[str]) -> list[str]:
    """The signed links of ``node_ids``' media outputs, in the order of :func:`media_refs`."""
    urls: list[str] = []
    for node_id in node_ids:
        output = public.outputs.get(node_id)
        value = output.value if output is not None else None
        urls.extend(value if isinstance(value, list) else [value] if isinstance(value, str) else [])
    return urls


async def blob(runtime: Runtime, ref: Mapping[str, Any]) -> bytes:
    sha256 = ref.get("sha256")
    if not isinstance(sha256, str):
        raise PixelmillError(errors.INTERNAL_ERROR, "A run output has no stored content")
    return await runtime.blobs.get(sha256)
