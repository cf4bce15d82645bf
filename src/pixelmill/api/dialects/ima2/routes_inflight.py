"""ima2's ``/api/inflight``: the workspace's active ima2 jobs (and recent finished ones), and cancel.

Errors are ima2's flat ``{error, code}``. Cancelling is the canonical :meth:`RunService.cancel`; its
``run_cancelled`` event reaches ``/api/events`` as ima2's ``error`` with ``GENERATION_CANCELED``.
The checks made before a job is created (409 ``REQUEST_ID_IN_USE``, 429 ``TOO_MANY_JOBS``) live in
:mod:`.inflight` and run in :func:`.submit.queue`, the one place every generation route queues a run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pixelmill import errors
from pixelmill.api.deps import RuntimeDep, SessionDep
from pixelmill.api.dialects.ima2 import inflight
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import FLAT
from pixelmill.api.dialects.ima2.files import Ima2FileIndex
from pixelmill.errors import PixelmillError
from pixelmill.services.runs import RunService

router = APIRouter(prefix="/api/inflight", tags=["ima2"], route_class=FLAT.route_class(), include_in_schema=False)

_TRUE = frozenset({"1", "true", "yes", "on"})


@router.get("")
async def list_inflight(
    principal: Ima2PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    session_id: Annotated[str | None, Query(alias="sessionId", max_length=200)] = None,
    include_terminal: Annotated[str | None, Query(alias="includeTerminal", max_length=8)] = None,
) -> dict[str, Any]:
    principal.require_scope("runs")
    kind = kind or None
    session_id = session_id or None
    active = await inflight.active_jobs(session, principal.workspace_id)
    answer: dict[str, Any] = {
        "jobs": [
            inflight.active_job(item) for item in active if inflight.matches(item.job, kind=kind, session_id=session_id)
        ]
    }
    if (include_terminal or "").lower() in _TRUE:
        keep = runtime.settings.ima2_inflight_terminal_seconds
        finished = await inflight.terminal_jobs(session, principal.workspace_id, keep)
        index = Ima2FileIndex(session, runtime.blobs)
        answer["terminalJobs"] = [
            inflight.terminal_job(item, await _filenames(index, item))
            for item in finished
            if inflight.matches(item.job, kind=kind, session_id=session_id)
        ]
    return answer


async def _filenames(index: Ima2FileIndex, item: inflight.JobRun) -> list[str] | None:
    """The ima2 names of a completed job's files (named here if nobody has yet), which ima2's CLI
    reads after a client timeout to find what it missed; None for a job that made nothing."""
    if item.run.status != "completed":
        return None
    return [row.filename for row in await index.register(item.run)]


@router.delete("/{request_id}")
async def cancel_inflight(
    request_id: str, principal: Ima2PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Cancel the active job with this requestId; ``active: false`` when there is none (ima2 answers
    200 either way, so a client cancelling a job that just finished sees no error)."""
    principal.require_scope("runs")
    item = await inflight.active_job_for(session, principal.workspace_id, request_id)
    if item is None:
        return {"requestId": request_id, "active": False, "aborted": False}
    try:
        await RunService(session, runtime).cancel(principal, item.run.id)
    except PixelmillError as exc:
        if exc.spec is not errors.RUN_NOT_CANCELLABLE:
            raise
        return {"requestId": request_id, "active": False, "aborted": False}
    return {"requestId": request_id, "active": True, "aborted": True}
