"""ima2's multiplexed ``/api/events``: the workspace's run events, as the events ima2's jobs emit.

Only runs that carry an :class:`Ima2Job` are shown; each frame's data carries ``jobId`` (the job's
``requestId``), by which ima2's web client routes it. A run event becomes:

=================  ==================================================================================
``run_started``    ``phase {requestId, phase: "streaming"}`` (a video job: ``planning {requestId}``)
``node_progress``  with a preview: ``partial {requestId, image, index}``; a video job's progress:
                   ``progress {requestId, progress, stalled: false}``
``run_complete``   what :data:`Finish` makes of the finished run (``done``; multimode ``image``s first)
``run_failed``     ``error {error, code, status, requestId}`` (ima2's flat error, with the status; a
                   node's nested, as its own stream sends it)
``run_cancelled``  ``error {error: "Generation canceled", code: "GENERATION_CANCELED", status: 499}``
=================  ==================================================================================

Replayed frames lose their large images as ima2's ring buffer does (``image`` strings over 1000
characters, in the payload and in each of its ``images``, replaced by ``_imageOmitted: true``); live
frames keep them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pixelmill import errors
from pixelmill.api.dialects.common.sse import Frames
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.done import failure_frames
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.events.types import EventRecord

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

log = logging.getLogger("pixelmill.api")

REPLAY_IMAGE_LIMIT = 1000  # ima2 drops image strings longer than this from replayed events
JOB_CACHE = 4096  # runs one stream remembers as ima2 jobs or not

# The frames a completed ima2 run ends with (:func:`.done.finish_frames`: ``done`` is the JSON the
# job's request would have answered).
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


def ended_frames(job: Ima2Job, status: str, error: dict[str, Any] | None) -> Frames:
    """The ``error`` of a failed run (as its own request's stream ends), or of a cancelled one: flat
    ``GENERATION_CANCELED`` with 499, as ima2's cancel publishes it."""
    failed = ima2_errors.run_failure(status, error)
    if failed is None:
        return []
    if status == "cancelled":
        return [("error", ima2_errors.failure_payload(failed, job.requestId))]
    return failure_frames(job, failed)


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
        if name in ("run_failed", "run_cancelled"):
            self._partials.pop(record.run_id, None)
            error = data.get("error")
            status = "failed" if name == "run_failed" else "cancelled"
            return ended_frames(job, status, error if isinstance(error, dict) else None)
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
            unreadable = PixelmillError(errors.INTERNAL_ERROR, "The result could not be read")
            return [("error", ima2_errors.failure_payload(unreadable, job.requestId))]

    async def __call__(self, record: EventRecord, replayed: bool) -> Frames:
        job = await self._job(record.run_id)
        if job is None:
            return []
        frames = [(name, {**data, "jobId": job.requestId}) for name, data in await self.frames(record)]
        if replayed:
            return [(name, omit_large_images(data)) for name, data in frames]
        return frames
