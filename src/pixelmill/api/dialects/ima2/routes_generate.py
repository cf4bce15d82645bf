"""ima2's generation routes: classic (``/api/generate``), edit, multimode, node and video.

Each route checks its body with :mod:`.translate` (ima2's codes, before anything is stored), routes the
provider with :mod:`.providers_map`, queues one run through :mod:`.submit` and then answers as ima2
does: the result as JSON, per-request server-sent events, or 202 for ``async: true`` (the job then
reports on ``/api/events``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.deps import RuntimeDep
from pixelmill.api.dialects.ima2 import answers, codes, done, providers_map, submit, translate
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import NESTED, ima2_code
from pixelmill.api.dialects.ima2.files import Ima2FileIndex, elapsed_of
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.providers_map import Catalogue, Route
from pixelmill.api.dialects.ima2.schemas import Options
from pixelmill.api.dialects.ima2.wire import STREAM_HEADERS
from pixelmill.db.models import Ima2File, Run
from pixelmill.errors import PixelmillError
from pixelmill.events.bus import Listener
from pixelmill.events.sse import frame
from pixelmill.providers.base import ModelInfo
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal

router = APIRouter(tags=["ima2"], route_class=codes.GENERATION.route_class(), include_in_schema=False)
node_router = APIRouter(prefix="/api/node", tags=["ima2"], route_class=NESTED.route_class(), include_in_schema=False)
JsonBody = Annotated[dict[str, Any], Body()]
_NODE_ID = re.compile(r"^n_[0-9a-f]{10}$")


def sse_response(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers=STREAM_HEADERS)


def _wants_sse(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def status_of(exc: PixelmillError) -> int:
    return codes.GENERATION.status(exc)


async def _references(
    session: AsyncSession, runtime: Runtime, principal: Principal, refs: list[bytes], route: Route, catalogue: Catalogue
) -> tuple[list[str], list[dict[str, Any]]]:
    """Upload the references the model takes; a model that takes none gets a warning instead."""
    info = catalogue.info(route.model_id)
    if not refs:
        return [], []
    if info is None or not translate.takes_references(info):
        return [], [{"code": "REFERENCES_IGNORED", "field": "references", "reason": "model-takes-no-references"}]
    return [await submit.upload(session, runtime, principal, ref, "references") for ref in refs], []


async def _generation_inputs(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    body: dict[str, Any],
    options: Options,
    refs: list[bytes],
) -> tuple[Route, ModelInfo, list[str], list[dict[str, Any]]]:
    """A prompt-to-images request's route, its model, and its references checked and uploaded (with
    the warnings of those the model cannot take): what classic and multimode generation share."""
    catalogue = await submit.catalogue(session, runtime, principal)
    route = providers_map.route_image(body.get("provider"), body.get("model"), options.quality, catalogue)
    translate.check_inputs(route, len(refs))
    files, warnings = await _references(session, runtime, principal, refs, route, catalogue)
    info = catalogue.info(route.model_id)
    assert info is not None
    return route, info, files, warnings


# Classic ----------------------------------------------------------------------------------------


@router.post("/api/generate")
async def generate(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """``n`` images of the prompt: ``image`` (one) or ``images[]`` inline, or 202 with ``async: true``."""
    text = translate.prompt(body.get("prompt"))
    n = translate.count(body.get("n"))
    options = translate.options(body, request.headers.get("x-request-id"))
    refs = translate.references(body.get("references"))
    async with runtime.db.session() as session:
        route, info, files, warnings = await _generation_inputs(session, runtime, principal, body, options, refs)
        job = translate.job("classic", text, options, route, n, warnings=warnings, refsCount=len(refs))
        graph = translate.generate_graph(info, text, n, options.size, files)
        run = await submit.queue(session, runtime, principal, job, graph, model_id=route.model_id)
    if body.get("async") is True:
        return JSONResponse({"requestId": job.requestId, "async": True}, status_code=202)
    result = await submit.finish(runtime, run.id)
    return answers.generate_payload(result.job, result.items, result.elapsed, result.usage)


# Edit -------------------------------------------------------------------------------------------


@router.post("/api/edit")
async def edit(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """An edit of ``image`` by the prompt, inside ``mask``'s transparent area when one is given."""
    raw_prompt, raw_image = body.get("prompt"), body.get("image")
    if not (isinstance(raw_prompt, str) and raw_prompt.strip() and isinstance(raw_image, str) and raw_image):
        raise PixelmillError(codes.EDIT_INPUT_REQUIRED)
    text = translate.prompt(raw_prompt)
    options = translate.options(body, request.headers.get("x-request-id"))
    source = translate.image_bytes(raw_image)
    dimensions = translate.image_dimensions(source)
    async with runtime.db.session() as session:
        catalogue = await submit.catalogue(session, runtime, principal)
        route = providers_map.route_image(body.get("provider"), body.get("model"), options.quality, catalogue)
        alpha_mask = body.get("mask")
        mask = translate.mask(alpha_mask, dimensions, route) if alpha_mask is not None else None
        info = catalogue.info(route.model_id)
        assert info is not None
        image_file = await submit.upload(session, runtime, principal, source, "image")
        mask_file = None
        if mask is not None and "inpainting" in info.capabilities:
            mask_file = await submit.upload(session, runtime, principal, translate.inpaint_mask(mask), "mask")
        warnings = translate.edit_warnings(info, mask is not None)
        job = translate.job("edit", text, options, route, warnings=warnings, hasMask=mask is not None)
        graph = translate.edit_graph(info, text, image_file, mask_file)
        run = await submit.queue(session, runtime, principal, job, graph, model_id=route.model_id)
    if body.get("async") is True:
        return JSONResponse({"requestId": job.requestId, "async": True}, status_code=202)
    result = await submit.finish(runtime, run.id)
    return answers.edit_payload(result.job, result.items[0], result.elapsed, result.usage)


# Multimode --------------------------------------------------------------------------------------


@router.post("/api/generate/multimode")
async def multimode(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """A sequence of up to ``maxImages``: SSE ``phase``, one ``image`` per picture, then ``done``."""
    text = translate.prompt(body.get("prompt"))
    count = translate.count(body.get("maxImages", 4), "maxImages")
    options = translate.options(body, request.headers.get("x-request-id"))
    refs = translate.references(body.get("references"))
    async with runtime.db.session() as session:
        route, info, files, warnings = await _generation_inputs(session, runtime, principal, body, options, refs)
        sequence = f"seq_{secrets.token_hex(4)}_{secrets.token_hex(4)}"
        job = translate.job(
            "multimode", text, options, route, count, warnings=warnings, sequenceId=sequence, refsCount=len(refs)
        )
        graph = translate.generate_graph(info, text, count, options.size, files)
        run = await submit.queue(session, runtime, principal, job, graph, model_id=route.model_id)
    if body.get("async") is True:
        return JSONResponse({"requestId": job.requestId}, status_code=202)
    return sse_response(_multimode_frames(runtime, run, job))


async def _multimode_frames(runtime: Runtime, run: Run, job: Ima2Job) -> AsyncIterator[bytes]:
    listener = submit.follow(runtime, run)
    finished = asyncio.ensure_future(submit.finish(runtime, run.id))
    yield frame(None, "phase", answers.multimode_phase(job))
    async for chunk in _ending(runtime, listener, finished, job):
        yield chunk


async def _ending(
    runtime: Runtime, listener: Listener, finished: asyncio.Future[submit.Finished], job: Ima2Job
) -> AsyncIterator[bytes]:
    """A per-request stream after its ``phase``: ``partial`` frames (``{requestId, image, index}``)
    while the run works, then the frames the job ends with, the same as ``/api/events`` carries
    (:mod:`.done`). A stream the client left stops waiting for the run (which goes on, and lands in
    the history); one whose listener was dropped for falling behind still ends with the result."""
    try:
        index = 0
        async for preview in submit.previews(runtime, listener, finished):
            yield frame(None, "partial", {"requestId": job.requestId, "image": preview, "index": index})
            index += 1
        ending = await done.awaited_frames(finished, job)
    except BaseException:
        finished.cancel()
        raise
    for name, data in ending:
        yield frame(None, name, data)


# Node -------------------------------------------------------------------------------------------


async def _node_file(index: Ima2FileIndex, principal: Principal, node_id: object) -> Ima2File:
    """The stored image of node ``node_id`` in the caller's workspace; 404 NODE_NOT_FOUND otherwise."""
    row = (
        await index.node(principal.workspace_id, node_id)
        if isinstance(node_id, str) and _NODE_ID.match(node_id)
        else None
    )
    if row is None:
        raise PixelmillError(codes.NODE_NOT_FOUND, f"Node {node_id} not found")
    return row


@node_router.post("/generate")
async def node_generate(body: JsonBody, request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Any:
    """One node image: from the parent node's image (an edit) or the prompt, with references; SSE when
    the client accepts it, JSON otherwise, or 202 ``{requestId}`` with ``async: true``."""
    text = translate.prompt(body.get("prompt"))
    options = translate.options(body, request.headers.get("x-request-id"))
    refs = translate.references(body.get("references"))
    parent_id = body.get("parentNodeId") if isinstance(body.get("parentNodeId"), str) else None
    context = "parent-only" if body.get("contextMode") == "parent-only" else "parent-plus-refs"
    async with runtime.db.session() as session:
        catalogue = await submit.catalogue(session, runtime, principal)
        route = providers_map.route_image(body.get("provider"), body.get("model"), options.quality, catalogue)
        index = Ima2FileIndex(session, runtime.blobs)
        await index.catch_up(principal.workspace_id)
        parent = await _node_file(index, principal, parent_id) if parent_id else None
        external = body.get("externalSrc")
        if parent is None and isinstance(external, str) and external.startswith("/generated/"):
            parent = await index.get(principal.workspace_id, external.removeprefix("/generated/"))
        translate.check_inputs(route, len(refs) + (1 if parent else 0))
        info = catalogue.info(route.model_id)
        assert info is not None
        warnings: list[dict[str, Any]] = []
        if parent is not None:
            # pixelmill's edit nodes take one image: the parent's; references are not sent with it.
            graph = translate.edit_graph(info, text, parent.file_id, None)
            if refs:
                warnings = [{"code": "REFERENCES_IGNORED", "field": "references", "reason": "edit-takes-one-image"}]
        else:
            files, warnings = await _references(session, runtime, principal, refs, route, catalogue)
            graph = translate.generate_graph(info, text, 1, options.size, files)
        job = translate.job(
            "node",
            text,
            options,
            route,
            warnings=warnings,
            node_id=f"n_{secrets.token_hex(5)}",
            parent_node_id=parent_id,
            refsCount=len(refs),
            contextMode=context,
            searchMode=body.get("searchMode") if isinstance(body.get("searchMode"), str) else None,
        )
        run = await submit.queue(session, runtime, principal, job, graph, model_id=route.model_id)
    if body.get("async") is True:
        return JSONResponse({"requestId": job.requestId}, status_code=202)
    if _wants_sse(request):
        return sse_response(_node_frames(runtime, run, job))
    try:
        result = await submit.finish(runtime, run.id)
    except PixelmillError as exc:
        return JSONResponse(answers.node_failure(job, ima2_code(exc), exc.message, status_of(exc)), status_of(exc))
    return answers.node_payload(result.job, result.items[0], result.elapsed, result.usage)


async def _node_frames(runtime: Runtime, run: Run, job: Ima2Job) -> AsyncIterator[bytes]:
    listener = submit.follow(runtime, run)
    finished = asyncio.ensure_future(submit.finish(runtime, run.id))
    yield frame(None, "phase", {"requestId": job.requestId, "phase": "streaming"})
    async for chunk in _ending(runtime, listener, finished, job):
        yield chunk


@node_router.get("/{node_id}")
async def get_node(node_id: str, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """``{nodeId, meta, url}``: the node's sidecar metadata and where its image is served."""
    async with runtime.db.session() as session:
        index = Ima2FileIndex(session, runtime.blobs)
        await index.catch_up(principal.workspace_id)
        row = await _node_file(index, principal, node_id)
        run = await session.get(Run, row.run_id)
    assert run is not None
    job = Ima2Job.of(run)
    meta = answers.sidecar(job, job.prompt if job else "", row.created_ms, elapsed_of(run))
    return {"nodeId": node_id, "meta": meta, "url": answers.generated_url(row.filename)}
