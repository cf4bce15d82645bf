"""An ima2 job onto pixelmill's runs: queue the graph with the job on the run, wait for it, and read
back its named outputs. The only place the ima2 routes touch the run and file services.

Every run carries its :class:`Ima2Job` at the top of its metadata (``run_metadata["ima2"]``), beside
the generation fields the canonical views read, so ``/v1/runs``, ``/api/inflight`` and
``/api/history`` all show the same job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.ima2 import codes, inflight
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.answers import TOKEN_FIELDS, Produced
from pixelmill.api.dialects.ima2.files import Ima2FileIndex
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.providers_map import Catalogue
from pixelmill.db.models import NodeExecution, Run
from pixelmill.errors import ErrorSpec, PixelmillError
from pixelmill.events.bus import Listener
from pixelmill.runtime import Runtime
from pixelmill.services.default_models import DefaultModelService
from pixelmill.services.files import FileService
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunService, serialise_creates, wait_for_terminal

# How long a request that answers with the result (sync JSON, per-request SSE) waits for its run.
WAIT_SECONDS = 600.0
# How often a per-request stream looks whether its run ended while it relays previews.
PREVIEW_POLL_SECONDS = 0.25
STILL_RUNNING = ErrorSpec("OAUTH_IMAGE_TIMEOUT", 504, "The generation is still running; see /api/inflight")


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished job: its run, its named outputs with their bytes, and the seconds it took."""

    run: Run
    job: Ima2Job
    items: list[Produced]
    files: list[str]  # the pixelmill file id of each item
    elapsed: float
    usage: dict[str, Any] | None  # what the upstream reported (see :func:`reported_usage`)


async def catalogue(session: AsyncSession, runtime: Runtime, principal: Principal) -> Catalogue:
    providers = await runtime.workspace_providers.registry(session, principal.workspace_id)
    defaults = await DefaultModelService(session, runtime).get(principal.workspace_id)
    return Catalogue(providers.models(), providers.is_configured, defaults, principal.mode == "test")


async def upload(session: AsyncSession, runtime: Runtime, principal: Principal, data: bytes, field: str) -> str:
    """An input image as a file of the workspace (rolled back with the run if the run is refused)."""
    try:
        row = await FileService(session, runtime.blobs, runtime.settings).create(principal.workspace_id, data)
    except PixelmillError as exc:
        exc.extra.setdefault("field", field)
        raise
    return row.id


async def queue(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    job: Ima2Job,
    graph: Mapping[str, Any],
    *,
    model_id: str,
) -> Run:
    """Create the run (credits held, queue caps checked); the caller's session commits it.

    ima2's own refusals come first, in the same transaction, so a refused job leaves nothing written:
    409 REQUEST_ID_IN_USE for a requestId an active job has, 429 TOO_MANY_JOBS at ``ima2_max_parallel``.
    The workspace's create lock is taken before them, so two requests at once cannot both pass."""
    await serialise_creates(session, principal.workspace_id)
    await inflight.ensure_request_id_free(session, principal.workspace_id, job.requestId)
    await inflight.ensure_job_slot(session, principal.workspace_id, runtime.settings.ima2_max_parallel, job.requestId)
    metadata = {
        **job.to_metadata(),
        "user_id": principal.user_id,
        "generation_type": "video" if job.kind == "video" else "image",
        "model_name": model_id,
        "prompt": job.prompt,
        "settings": {"size": job.size, "n": job.n},
    }
    return await RunService(session, runtime).create(principal, graph, kind="generation", metadata=metadata)


async def previews(runtime: Runtime, listener: Listener, finished: asyncio.Future[Any]) -> AsyncIterator[str]:
    """The ``data:`` previews a run's nodes report while it runs (OpenAI's partial images), until
    ``finished`` is done; ``listener`` was subscribed to the run when it was queued, and is closed here."""
    try:
        while not finished.done():
            batch = await listener.next(PREVIEW_POLL_SECONDS)
            if batch is None:
                return  # dropped for falling behind: the answer still comes from the run itself
            for record in batch:
                preview = record.data.get("preview")
                if record.name == "node_progress" and isinstance(preview, str):
                    yield preview
    finally:
        listener.close()


def follow(runtime: Runtime, run: Run) -> Listener:
    """A listener on ``run``'s events, for :func:`previews`."""
    return runtime.event_bus.subscribe(run.workspace_id, run_id=run.id, maxsize=runtime.settings.sse_listener_buffer)


async def finish(runtime: Runtime, run_id: str, *, wait: float = WAIT_SECONDS) -> Finished:
    """Wait for the run, name its outputs and read their bytes; a failed run raises ima2's code."""
    if not await wait_for_terminal(runtime, run_id, wait):
        raise PixelmillError(STILL_RUNNING)
    async with runtime.db.session() as session:
        run = await session.get(Run, run_id)
        assert run is not None
        job = Ima2Job.of(run)
        assert job is not None
        raise_failure(run, job)
        index = Ima2FileIndex(session, runtime.blobs)
        rows = await index.register(run)
        items = await index.produced(rows)
        usage = await reported_usage(session, run.id)
    if not items:
        raise PixelmillError(codes.EMPTY_RESPONSE, requestId=job.requestId)
    end = run.completed_at or run.created_at
    elapsed = max(0.0, (end - run.created_at).total_seconds())
    return Finished(run, job, items, [row.file_id for row in rows], elapsed, usage)


async def reported_usage(session: AsyncSession, run_id: str) -> dict[str, Any] | None:
    """What the run's upstream calls reported, as one: token counts summed over its nodes, and the
    first revised prompt; None for a run that made no upstream call (pixelmill's own models)."""
    reports = await session.scalars(
        select(NodeExecution.usage)
        .where(NodeExecution.run_id == run_id, NodeExecution.usage.is_not(None))
        .order_by(NodeExecution.node_id)
    )
    merged: dict[str, Any] = {}
    for report in reports:
        if not isinstance(report, dict):
            continue
        for name in TOKEN_FIELDS:
            if isinstance(report.get(name), int):
                merged[name] = merged.get(name, 0) + report[name]
        if isinstance(report.get("revised_prompt"), str):
            merged.setdefault("revised_prompt", report["revised_prompt"])
    return merged or None


def failure_of(run: Run) -> PixelmillError | None:
    """What a finished run that made nothing answers, in ima2's codes (None for a completed run)."""
    return ima2_errors.run_failure(run.status, run.error)


def raise_failure(run: Run, job: Ima2Job) -> None:
    failed = failure_of(run)
    if failed is not None:
        failed.extra["requestId"] = job.requestId
        raise failed
