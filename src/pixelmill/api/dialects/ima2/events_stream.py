"""ima2's multiplexed ``/api/events``: the workspace's run events, as the events ima2's jobs emit.

Only runs that carry an :class:`Ima2Job` are shown; each frame's data carries ``jobId`` (the job's
``requestId``), by which ima2's web client routes it. A run event becomes:

=================  ==================================================================================
``run_started``    ``phase {requestId, phase: "streaming"}`` (a video job: ``planning {requestId}``)
``node_progress``  with a preview: ``partial {requestId, image, index}``; a video job's progress:
                   ``progress {requestId, progress, stalled: false}``
``run_complete``   what :data:`Finish` makes of the finished run (``done``; multimode ``image``s first)
``run_failed``     ``error {error, code, status, requestId}`` (ima2's flat error, with the status)
``run_cancelled``  ``error {error: "Generation canceled", code: "GENERATION_CANCELED", status: 499}``
=================  ==================================================================================

Replayed frames lose their large images as ima2's ring buffer does (``image`` strings over 1000
characters, in the payload and in each of its ``images``, replaced by ``_imageOmitted: true``); live
frames keep them.
"""

from __future__ import annotations

import base64
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pixelmill.api.dialects.common.sse import Frames
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.wire import epoch_ms
from pixelmill.db.models import Run
from pixelmill.errors import spec_for
from pixelmill.events.types import EventRecord
from pixelmill.services.run_outputs import output_refs

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

log = logging.getLogger("pixelmill.api")

REPLAY_IMAGE_LIMIT = 1000  # ima2 drops image strings longer than this from replayed events
JOB_CACHE = 4096  # runs one stream remembers as ima2 jobs or not

# The frames a finished ima2 run ends with; the generation routes' own payload (``done`` is the
# JSON their synchronous answer would have been).
Finish = Callable[["Runtime", Run, Ima2Job], Awaitable[Frames]]


def omit_large_images(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as ima2 replays it: image strings over the limit dropped, with ``_imageOmitted``."""
    out = dict(data)
    image = out.get("image")
    if isinstance(image, str) and len(image) > REPLAY_IMAGE_LIMIT:
        del out["image"]
        out["_imageOmitted"] = True
    images = out.get("images")
    if isinstance(images, list):
        out["images"] = [omit_large_images(item) if isinstance(item, dict) else item for item in images]
    return out


def failure(job: Ima2Job, error: dict[str, Any] | None) -> dict[str, Any]:
    """ima2's ``error`` event for a failed run: flat, with the HTTP status its request would have had."""
    error = error or {}
    code = str(error.get("code") or "INTERNAL_ERROR")
    spec = spec_for(code)
    message = error.get("message") or (spec.message if spec is not None else "Generation failed")
    return {
        "error": str(message),
        "code": ima2_errors.code_name(code),
        "status": ima2_errors.wire_status(spec) if spec is not None else 500,
        "requestId": job.requestId,
    }


def cancelled(job: Ima2Job) -> dict[str, Any]:
    spec = ima2_errors.GENERATION_CANCELED
    return {"error": spec.message, "code": spec.code, "status": spec.status, "requestId": job.requestId}


def progress_frames(job: Ima2Job, data: dict[str, Any], partial_index: int) -> Frames:
    """The frames of one ``node_progress``: a preview is a ``partial``; a video job's fraction a ``progress``."""
    if job.kind == "video":
        fraction = data.get("progress")
        return [("progress", {"requestId": job.requestId, "progress": fraction, "stalled": False})]
    preview = data.get("preview")
    if isinstance(preview, str) and preview:
        return [("partial", {"requestId": job.requestId, "image": preview, "index": partial_index})]
    return []


def started_frames(job: Ima2Job) -> Frames:
    if job.kind == "video":
        return [("planning", {"requestId": job.requestId})]
    return [("phase", {"requestId": job.requestId, "phase": "streaming"})]


async def basic_finish(runtime: Runtime, run: Run, job: Ima2Job) -> Frames:
    """``done`` from the run alone: its images as data URLs (``image`` for one, ``images`` for
    several), the job's options and the elapsed seconds. The generation routes' ``Finish`` adds
    what only they know (file names, revised prompts, usage)."""
    images: list[dict[str, Any]] = []
    for output in (run.outputs or {}).values():
        if not isinstance(output, dict) or output.get("type") not in ("image", "images"):
            continue
        for ref in output_refs(output):
            sha256, mime = ref.get("sha256"), ref.get("mime") or "image/png"
            if isinstance(sha256, str):
                data = await runtime.blobs.get(sha256)
                images.append(
                    {
                        "image": f"data:{mime};base64,{base64.b64encode(data).decode()}",
                        "createdAt": epoch_ms(run.completed_at),
                    }
                )
    finished = run.completed_at or run.created_at
    payload: dict[str, Any] = {
        "requestId": job.requestId,
        "elapsed": round((finished - run.created_at).total_seconds(), 1),
        "provider": job.provider,
        "model": job.model,
        "quality": job.quality,
        "size": job.size,
        "usage": None,
        "warnings": [],
        "createdAt": epoch_ms(finished),
    }
    if len(images) == 1:
        payload["image"] = images[0]["image"]
    else:
        payload.update(images=images, count=len(images))
    return [("done", payload)]


class Ima2EventTranslator:
    """Turns one stream's run events into ima2 frames; remembers which runs are ima2 jobs."""

    def __init__(self, runtime: Runtime, finish: Finish) -> None:
        self.runtime = runtime
        self.finish = finish
        self._jobs: OrderedDict[str, Ima2Job | None] = OrderedDict()
        self._partials: dict[str, int] = {}

    async def _run(self, run_id: str) -> Run | None:
        async with self.runtime.db.reads() as session:
            return await session.get(Run, run_id)

    async def _job(self, run_id: str) -> Ima2Job | None:
        if run_id in self._jobs:
            self._jobs.move_to_end(run_id)
            return self._jobs[run_id]
        run = await self._run(run_id)
        job = Ima2Job.of(run) if run is not None else None
        self._jobs[run_id] = job
        if len(self._jobs) > JOB_CACHE:
            self._jobs.popitem(last=False)
        return job

    async def frames(self, record: EventRecord) -> Frames:
        job = await self._job(record.run_id)
        if job is None:
            return []
        name, data = record.name, record.data
        if name == "run_started":
            return started_frames(job)
        if name == "node_progress":
            index = self._partials.get(record.run_id, 0)
            frames = progress_frames(job, data, index)
            if any(frame_name == "partial" for frame_name, _ in frames):
                self._partials[record.run_id] = index + 1
            return frames
        if name == "run_failed":
            self._partials.pop(record.run_id, None)
            error = data.get("error")
            return [("error", failure(job, error if isinstance(error, dict) else None))]
        if name == "run_cancelled":
            self._partials.pop(record.run_id, None)
            return [("error", cancelled(job))]
        if name == "run_complete":
            self._partials.pop(record.run_id, None)
            return await self._finished(record.run_id, job)
        return []

    async def _finished(self, run_id: str, job: Ima2Job) -> Frames:
        """The finished job's frames; if they cannot be made (its outputs already released), an
        ``error`` rather than a stream that dies or a client left waiting for a ``done``."""
        run = await self._run(run_id)
        if run is None:
            return []
        try:
            return await self.finish(self.runtime, run, job)
        except Exception:
            log.exception("the ima2 done event of run %s could not be made", run_id)
            return [("error", failure(job, {"code": "INTERNAL_ERROR", "message": "The result could not be read"}))]

    async def __call__(self, record: EventRecord, replayed: bool) -> Frames:
        job = await self._job(record.run_id)
        if job is None:
            return []
        frames = [(name, {**data, "jobId": job.requestId}) for name, data in await self.frames(record)]
        if replayed:
            return [(name, omit_large_images(data)) for name, data in frames]
        return frames
