"""ima2's in-flight jobs, read from the runs themselves: a run carrying an :class:`Ima2Job` that is
queued or running is an active job; one that finished in the last ``ima2_inflight_terminal_seconds``
is a recent terminal job. There is no table of its own, so nothing can disagree with the run.

Also the two checks ima2 makes before it accepts a job, which :func:`.submit.queue` makes inside the
transaction that creates the run (so a refusal leaves no run and no uploaded input): 409
REQUEST_ID_IN_USE for a requestId an active job of the workspace already has, and 429 TOO_MANY_JOBS
(``Retry-After: 5``) at ``ima2_max_parallel`` active jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.wire import epoch_ms
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.services.run_outputs import output_refs

ACTIVE_STATUSES = ("queued", "running")
RETRY_AFTER_SECONDS = 5  # what ima2 tells a client over the job cap
PROMPT_LIMIT = 500  # ima2 shows at most this much of a job's prompt
_PHASES = {"queued": "queued", "running": "streaming"}
_TERMINAL = {"completed": "completed", "failed": "error", "cancelled": "canceled"}


@dataclass(frozen=True, slots=True)
class JobRun:
    """A run that is an ima2 job, with the job it carries."""

    run: Run
    job: Ima2Job


def wire_kind(job: Ima2Job) -> str:
    """The kind ima2 lists: its ``/api/edit`` jobs are "classic" like ``/api/generate``'s."""
    return "classic" if job.kind == "edit" else job.kind


def _meta(job: Ima2Job) -> dict[str, Any]:
    extra = {name: value for name, value in job.extra.items() if isinstance(value, str | int | float | bool)}
    return {
        **extra,
        "kind": wire_kind(job),
        "sessionId": job.sessionId,
        "parentNodeId": job.parentNodeId,
        "clientNodeId": job.clientNodeId,
        "quality": job.quality,
        "model": job.model,
        "size": job.size,
        "n": job.n,
        "provider": job.provider,
    }


def active_job(item: JobRun) -> dict[str, Any]:
    """An active job as ``GET /api/inflight`` lists it."""
    run, job = item.run, item.job
    return {
        "requestId": job.requestId,
        "kind": wire_kind(job),
        "prompt": job.prompt[:PROMPT_LIMIT],
        "meta": _meta(job),
        "startedAt": epoch_ms(run.created_at),
        "phase": _PHASES.get(run.status, run.status),
        "phaseAt": epoch_ms(run.started_at or run.created_at),
    }


def image_count(run: Run) -> int:
    outputs = run.outputs or {}
    return sum(
        len(output_refs(output))
        for output in outputs.values()
        if isinstance(output, dict) and output.get("type") in ("image", "images")
    )


def http_status(run: Run) -> int:
    """The status ima2 would have answered the job's request with."""
    failed = ima2_errors.run_failure(run.status, run.error)
    return ima2_errors.FLAT.status(failed) if failed is not None else 200


def error_code(run: Run) -> str | None:
    failed = ima2_errors.run_failure(run.status, run.error)
    return failed.code if failed is not None else None


def terminal_job(item: JobRun, filenames: list[str] | None = None) -> dict[str, Any]:
    """A finished job as ``GET /api/inflight?includeTerminal=1`` lists it (no prompt, as in ima2);
    ``meta.filenames`` when the caller knows the ima2 file names of its images."""
    run, job = item.run, item.job
    finished = run.completed_at or run.started_at or run.created_at
    started_ms, finished_ms = epoch_ms(run.created_at) or 0, epoch_ms(finished) or 0
    status = _TERMINAL[run.status]
    return {
        "requestId": job.requestId,
        "kind": wire_kind(job),
        "status": status,
        "startedAt": started_ms,
        "finishedAt": finished_ms,
        # From the two times as sent, so a client's own subtraction agrees to the millisecond.
        "durationMs": max(0, finished_ms - started_ms),
        "phase": status,
        "phaseAt": epoch_ms(finished),
        "httpStatus": http_status(run),
        "errorCode": error_code(run),
        "meta": {
            **_meta(job),
            **({"filenames": filenames} if filenames is not None else {}),
            "imageCount": image_count(run),
        },
    }


def matches(job: Ima2Job, *, kind: str | None, session_id: str | None) -> bool:
    return (kind is None or wire_kind(job) == kind or job.kind == kind) and (
        session_id is None or job.sessionId == session_id
    )


def _jobs(runs: Sequence[Run]) -> list[JobRun]:
    found = [JobRun(run, job) for run in runs if (job := Ima2Job.of(run)) is not None]
    return sorted(found, key=lambda item: item.run.id)


async def active_jobs(session: AsyncSession, workspace_id: str) -> list[JobRun]:
    """The workspace's queued and running ima2 jobs, oldest first. Their number is bounded by the
    plan's queue cap and the job cap, so they are read whole and picked out here."""
    runs = await session.scalars(
        select(Run).where(Run.workspace_id == workspace_id, Run.status.in_(ACTIVE_STATUSES), Run.deleted_at.is_(None))
    )
    return _jobs(list(runs))


async def terminal_jobs(session: AsyncSession, workspace_id: str, keep_seconds: float) -> list[JobRun]:
    """The workspace's ima2 jobs that finished within the last ``keep_seconds``, oldest first."""
    cutoff = utcnow() - timedelta(seconds=keep_seconds)
    runs = await session.scalars(
        select(Run).where(
            Run.workspace_id == workspace_id,
            Run.status.in_(list(TERMINAL_STATUSES)),
            Run.completed_at >= cutoff,
            Run.deleted_at.is_(None),
        )
    )
    return _jobs(list(runs))


async def active_job_for(session: AsyncSession, workspace_id: str, request_id: str) -> JobRun | None:
    return next((item for item in await active_jobs(session, workspace_id) if item.job.requestId == request_id), None)


async def ensure_request_id_free(session: AsyncSession, workspace_id: str, request_id: str) -> None:
    """409 REQUEST_ID_IN_USE when an active job of the workspace already has ``request_id``."""
    if await active_job_for(session, workspace_id, request_id) is not None:
        raise PixelmillError(
            ima2_errors.REQUEST_ID_IN_USE, f"Request {request_id} is still running", requestId=request_id
        )


async def ensure_job_slot(session: AsyncSession, workspace_id: str, limit: int, request_id: str | None = None) -> None:
    """429 TOO_MANY_JOBS with ``Retry-After: 5`` when the workspace has ``limit`` active ima2 jobs
    (one per request, whatever its number of images), as ima2 caps them."""
    active = len(await active_jobs(session, workspace_id))
    if active >= limit:
        raise PixelmillError(
            ima2_errors.TOO_MANY_JOBS,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            requestId=request_id,
        )
