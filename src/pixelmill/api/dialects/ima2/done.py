"""The frames an ima2 job ends with, wherever it is watched: its own request's stream and ``/api/events``.

ima2 emits the same ``done`` on the request's stream and on the bus, and it is the JSON the request
would have answered: ``generate_payload`` for classic jobs, ``edit_payload``, ``node_payload``,
``multimode_done`` (after one ``image`` frame per picture) and ``video_payload``, each with the ima2
file names (``/generated/<name>``) the outputs are served under. A job that made nothing ends with
ima2's flat ``error`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pixelmill.api.dialects.common.sse import Frames
from pixelmill.api.dialects.ima2 import answers, codes, submit
from pixelmill.api.dialects.ima2.answers import Produced
from pixelmill.api.dialects.ima2.errors import failure_payload, ima2_code
from pixelmill.api.dialects.ima2.files import Ima2FileIndex, elapsed_of
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime


def result_frames(
    job: Ima2Job, items: Sequence[Produced], elapsed: float, usage: Mapping[str, Any] | None = None
) -> Frames:
    """The frames of a job that made ``items``: ``done`` with the payload its kind answers (``usage``:
    what the upstream reported, its revised prompt included)."""
    if job.kind == "multimode":
        images: Frames = [("image", item) for item in answers.multimode_images(job, items, usage)]
        return [*images, ("done", answers.multimode_done(job, items, elapsed, usage))]
    if job.kind == "edit":
        return [("done", answers.edit_payload(job, items[0], elapsed, usage))]
    if job.kind == "node":
        return [("done", answers.node_payload(job, items[0], elapsed, usage))]
    if job.kind == "video":
        return [("done", answers.video_payload(job, items[0].filename, elapsed, None, usage))]
    return [("done", answers.generate_payload(job, items, elapsed, usage))]


def failure_frames(job: Ima2Job, exc: PixelmillError) -> Frames:
    """The ``error`` a failed job ends with; a node's is nested, as ima2's node routes send it, and an
    empty sequence says what it asked for."""
    if job.kind == "node":
        return [("error", answers.node_failure(job, ima2_code(exc), exc.message, codes.GENERATION.status(exc)))]
    payload: dict[str, Any] = failure_payload(exc, job.requestId)
    if job.kind == "multimode" and exc.code == codes.EMPTY_RESPONSE.code:
        payload.update(sequenceId=job.extra.get("sequenceId"), requested=job.n, returned=0)
    return [("error", payload)]


async def awaited_frames(finished: Awaitable[submit.Finished], job: Ima2Job) -> Frames:
    """How a per-request stream ends: the frames of the job once ``finished`` (waiting for its run)
    says how it went."""
    try:
        result = await finished
    except PixelmillError as exc:
        return failure_frames(job, exc)
    return result_frames(result.job, result.items, result.elapsed, result.usage)


async def finish_frames(runtime: Runtime, run: Run, job: Ima2Job) -> Frames:
    """``/api/events``' frames for a finished run (its outputs named on first sight, so the names
    match the history's and the request's own answer)."""
    failed = submit.failure_of(run)
    if failed is not None:
        return failure_frames(job, failed)
    async with runtime.db.session() as session:
        index = Ima2FileIndex(session, runtime.blobs)
        items = await index.produced(await index.register(run))
        usage = await submit.reported_usage(session, run.id)
    if not items:
        return failure_frames(job, PixelmillError(codes.EMPTY_RESPONSE, requestId=job.requestId))
    return result_frames(job, items, elapsed_of(run) or 0.0, usage)
