"""ima2's video routes: ``/api/video/generate`` (text-, image- and reference-to-video, SSE or async),
``/api/video/frame`` (a still of a generated video) and ``/api/video/extend`` (a clip continuing a
generated video from its last frame, joined onto it).

Videos run on xAI's video model through pixelmill's ``video.generate`` node; ``video.frame`` and
``video.concat`` do the rest, so every step is a run with its credits and events like any other.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from pixelmill.api.deps import RuntimeDep
from pixelmill.api.dialects.ima2 import answers, codes, done, providers_map, submit, translate
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.files import Ima2FileIndex
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.routes_generate import JsonBody, sse_response
from pixelmill.db.models import Ima2File
from pixelmill.errors import PixelmillError
from pixelmill.events.sse import frame
from pixelmill.providers.video_encode import VideoDecodeError, extract_frame
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal

router = APIRouter(
    prefix="/api/video", tags=["ima2"], route_class=codes.GENERATION.route_class(), include_in_schema=False
)
EXTEND_SECONDS = (2, 10)


@router.post("/generate")
async def video_generate(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """SSE ``planning``, ``submitted``, then ``done`` (the MP4 at ``/generated/<name>``) or ``error``; 202
    ``{requestId}`` with ``async: true``. ``sourceImage`` (or the first of ``referenceImages``) is the
    first frame: pixelmill's video node takes one input image."""
    text = translate.video_prompt(body.get("prompt"))
    request_id = body.get("requestId") if isinstance(body.get("requestId"), str) else None
    options = translate.options({**body, "requestId": request_id}, request.headers.get("x-request-id"))
    video = translate.video_options(body)
    refs = translate.video_references(body.get("referenceImages"))
    async with runtime.db.session() as session:
        catalogue = await submit.catalogue(session, runtime, principal)
        route = providers_map.route_video(body.get("provider"), body.get("model"), catalogue)
        source_raw = body.get("sourceImage") or body.get("image")
        source = translate.image_bytes(source_raw) if source_raw else (refs[0] if refs else None)
        source_file = await submit.upload(session, runtime, principal, source, "sourceImage") if source else None
        job = translate.job(
            "video",
            text,
            options,
            route,
            duration=video.duration,
            resolution=video.resolution,
            aspectRatio=video.aspect_ratio,
            refsCount=len(refs),
        )
        graph = translate.video_graph(route.model_id, text, video, source_file)
        run = await submit.queue(session, runtime, principal, job, graph, model_id=route.model_id)
    if body.get("async") is True:
        return JSONResponse({"requestId": job.requestId}, status_code=202)
    return sse_response(_video_frames(runtime, run.id, job))


async def _video_frames(runtime: Runtime, run_id: str, job: Ima2Job) -> AsyncIterator[bytes]:
    yield frame(None, "planning", {"requestId": job.requestId})
    submitted = {
        "requestId": job.requestId,
        "xaiVideoRequestId": None,
        "requestedModel": job.model,
        "effectiveModel": job.model,
        "modelFallback": False,
    }
    yield frame(None, "submitted", submitted)
    for name, data in await done.awaited_frames(submit.finish(runtime, run_id), job):
        yield frame(None, name, data)


async def _video_file(runtime: Runtime, principal: Principal, name: object) -> Ima2File:
    """A generated ``.mp4`` of the workspace by name (or ``/generated/<name>``); 404 otherwise."""
    filename = name.removeprefix("/generated/") if isinstance(name, str) else ""
    async with runtime.db.session() as session:
        index = Ima2FileIndex(session, runtime.blobs)
        await index.catch_up(principal.workspace_id)
        try:
            row = await index.get(principal.workspace_id, filename)
        except PixelmillError:
            row = None
    if row is None or not row.mime.startswith("video/"):
        raise PixelmillError(codes.VIDEO_NOT_FOUND, field="file")
    return row


@router.get("/frame")
async def video_frame(
    principal: Ima2PrincipalDep,
    runtime: RuntimeDep,
    file: Annotated[str, Query(max_length=300)],
    position: Annotated[str, Query(max_length=32)] = "last",
) -> Response:
    """One frame of a generated video as a PNG: the last (default) or the one at ``position`` seconds."""
    at: float | Literal["last"] = "last"
    if position != "last":
        try:
            at = float(position)
        except ValueError:
            at = -1.0
        if at < 0 or at != at:
            raise PixelmillError(codes.GROK_VIDEO_FRAME_FAILED, 'position must be "last" or seconds (>= 0)')
    row = await _video_file(runtime, principal, file)
    async with runtime.db.sessions() as session:
        data, _record = await Ima2FileIndex(session, runtime.blobs).content(row)
    try:
        picture = await asyncio.to_thread(extract_frame, data, at)
    except VideoDecodeError as exc:
        raise PixelmillError(codes.GROK_VIDEO_FRAME_FAILED, str(exc)) from None
    buffer = io.BytesIO()
    await asyncio.to_thread(picture.save, buffer, "PNG")
    return Response(buffer.getvalue(), media_type="image/png")


@router.post("/extend")
async def video_extend(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """Blocking: a clip of ``duration`` seconds (2–10) from the video's last frame, joined onto it; the
    answer is the joined video's ``done`` payload. The clip alone goes to the trash (restorable)."""
    text = translate.video_prompt(body.get("prompt"))
    duration = body.get("duration", 6)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not (EXTEND_SECONDS[0] <= duration <= EXTEND_SECONDS[1])
    ):
        raise PixelmillError(codes.INVALID_VIDEO_DURATION, "duration must be an integer from 2 to 10", field="duration")
    options = translate.options({**body, "requestId": body.get("requestId")}, request.headers.get("x-request-id"))
    parent = await _video_file(runtime, principal, body.get("videoUrl"))
    video = translate.VideoOptions(duration, "720p", "auto")
    async with runtime.db.session() as session:
        catalogue = await submit.catalogue(session, runtime, principal)
        route = providers_map.route_video(body.get("provider", "grok"), body.get("model"), catalogue)
        clip_job = translate.job(
            "video", text, options, route, duration=duration, stage="extension-clip", parentFilename=parent.filename
        )
        graph = translate.extension_graph(route.model_id, text, video, parent.file_id)
        clip_run = await submit.queue(session, runtime, principal, clip_job, graph, model_id=route.model_id)
    clip = await submit.finish(runtime, clip_run.id)
    async with runtime.db.session() as session:
        joined_job = translate.job(
            "video",
            text,
            options,
            route,
            parentFilename=parent.filename,
            extensionFilename=clip.items[0].filename,
        )
        graph = translate.concat_graph(parent.file_id, clip.files[0])
        joined_run = await submit.queue(session, runtime, principal, joined_job, graph, model_id=route.model_id)
    joined = await submit.finish(runtime, joined_run.id)
    async with runtime.db.session() as session:
        await Ima2FileIndex(session, runtime.blobs).tombstone(principal.workspace_id, clip.items[0].filename)
    elapsed = clip.elapsed + joined.elapsed
    return answers.video_payload(joined.job, joined.items[0].filename, elapsed, None, clip.usage)
