"""``/v1/images``: generations, edits and variations, each one run answered as OpenAI's ImagesResponse
(``b64_json`` by default, a signed link with ``response_format=url``), or streamed as
``image_generation.partial_image`` / ``image_generation.completed`` events with ``stream=true``."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pydantic_core
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.openai import runs, schemas, translate
from pixelmill.api.dialects.openai.models import choose
from pixelmill.api.dialects.openai.routing import SSE_HEADERS, OpenAIRoute, sse_data, sse_error
from pixelmill.api.routers.runs import public_base_url
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.events.bus import Listener
from pixelmill.providers.cv import MODEL_ID as CV_MODEL
from pixelmill.runtime import Runtime
from pixelmill.services.files import FileService
from pixelmill.services.principal import Principal

router = APIRouter(prefix="/v1/images", tags=["openai"], route_class=OpenAIRoute, include_in_schema=False)
MAX_EDIT_IMAGES = 16
Form = TypeVar("Form", bound=BaseModel)


class Answer(BaseModel):
    """How a finished run is shown: what the request asked of the response, read from the request's
    fields of the same names (a form without one, as a variation has no background, takes the default)."""

    response_format: schemas.ResponseFormat
    background: str = "auto"
    output_format: schemas.ImageFormat = "png"
    quality: str = "auto"
    partial_images: int = 0


@router.post("/generations")
async def create_image(
    body: schemas.ImageGenerate, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    model = await choose(runtime, principal, body.model, generation_type="image", capability="text-to-image")
    plan = translate.generation_plan(body, model)
    answer = Answer.model_validate(body, from_attributes=True)
    meta = {"endpoint": "images.generate", "model": body.model, "user": body.user}
    return await _respond(request, runtime, principal, plan, answer, meta, stream=body.stream)


@router.post("/edits")
async def edit_image(request: Request, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    form, files = await _multipart(request, schemas.ImageEditForm, max_files=MAX_EDIT_IMAGES + 1)
    uploads = files.get("image", []) + files.get("image[]", [])
    if len(uploads) > MAX_EDIT_IMAGES:
        raise translate.invalid(f"Send at most {MAX_EDIT_IMAGES} images", "image")
    masks = files.get("mask", [])
    model = await choose(
        runtime, principal, form.model, generation_type="image", capability="image-to-image", default=CV_MODEL
    )
    images = [await _store(runtime, principal, upload, "image") for upload in uploads]
    mask = await _store(runtime, principal, translate.pixelmill_mask(masks[0]), "mask") if masks else None
    plan = translate.edit_plan(form, model, images, mask)
    answer = Answer.model_validate(form, from_attributes=True)
    meta = {"endpoint": "images.edit", "model": form.model, "user": form.user}
    return await _respond(request, runtime, principal, plan, answer, meta, stream=form.stream)


@router.post("/variations")
async def create_variation(request: Request, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    form, files = await _multipart(request, schemas.ImageVariationForm, max_files=2)
    uploads = files.get("image", [])
    if len(uploads) != 1:
        raise translate.invalid("Send one image as 'image'", "image")
    model = await choose(
        runtime, principal, form.model, generation_type="image", capability="image-to-image", default=CV_MODEL
    )
    image = await _store(runtime, principal, uploads[0], "image")
    plan = translate.variation_plan(form, model, image)
    meta = {"endpoint": "images.create_variation", "model": form.model, "user": form.user}
    return await _respond(request, runtime, principal, plan, Answer.model_validate(form, from_attributes=True), meta)


async def _multipart(request: Request, schema: type[Form], *, max_files: int) -> tuple[Form, dict[str, list[bytes]]]:
    """The text fields of a multipart body as ``schema`` (a bad one is a 400 naming it) and the bytes
    of its files by field name; the spooled uploads are closed before this returns."""
    async with request.form(max_files=max_files, max_fields=100) as form_data:
        fields = {key: value for key, value in form_data.multi_items() if isinstance(value, str)}
        files: dict[str, list[bytes]] = {}
        for key, value in form_data.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(key, []).append(await value.read())
    try:
        return schema.model_validate(fields), files
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = ".".join(str(part) for part in problem.get("loc", ())) or "body"
        raise translate.invalid(f"Invalid value for '{name}': {problem.get('msg', 'invalid')}", name) from None


async def _store(runtime: Runtime, principal: Principal, data: bytes, param: str) -> str:
    """The upload as a file of the workspace (its type sniffed, decoded, size-checked); its id."""
    principal.require_scope("runs")
    async with runtime.db.session() as session:
        try:
            row = await FileService(session, runtime.blobs, runtime.settings).create(principal.workspace_id, data)
        except PixelmillError as exc:
            exc.extra["field"] = param
            raise
    if not row.mime.startswith("image/"):
        raise PixelmillError(errors.UNSUPPORTED_IMAGE_FORMAT, f"'{param}' is {row.mime}, not an image", field=param)
    return row.id


async def _respond(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    plan: translate.Plan,
    answer: Answer,
    meta: dict[str, Any],
    *,
    stream: bool = False,
) -> Response:
    base_url = public_base_url(request, runtime)
    started = await runs.start(runtime, principal, plan, meta)
    if stream:
        listener = runtime.event_bus.subscribe(principal.workspace_id, run_id=started.run.id)
        events = _stream(runtime, started, plan, answer, base_url, listener)
        # Closed by the stream when it ends, and here too for a client gone before it began.
        return StreamingResponse(
            events, media_type="text/event-stream", headers=SSE_HEADERS, background=BackgroundTask(listener.close)
        )
    run = await runs.finish(runtime, started, plan)
    response = await _images(runtime, run, plan, answer, base_url)
    # Serialised by pydantic-core straight to bytes: a b64_json image is one string of megabytes,
    # which the stdlib encoder (JSONResponse) scans, copies and encodes again at several times the cost.
    return Response(pydantic_core.to_json(response), media_type="application/json")


async def _images(
    runtime: Runtime, run: Run, plan: translate.Plan, answer: Answer, base_url: str
) -> schemas.ImagesResponse:
    refs = runs.media_refs(run, plan.outputs)
    public = await runs.view(runtime, run, base_url)
    usages = [node.usage for node in public.nodes]
    revised = translate.revised_prompt(usages)
    if answer.response_format == "url":
        images = [schemas.ImageData(url=url, revised_prompt=revised) for url in runs.media_urls(public, plan.outputs)]
    else:
        images = [
            schemas.ImageData(b64_json=base64.b64encode(await runs.blob(runtime, ref)).decode(), revised_prompt=revised)
            for ref in refs
        ]
    first = refs[0] if refs else {}
    return translate.images_response(
        created=int(run.created_at.timestamp()),
        images=images,
        usage=translate.image_usage(usages),
        background=answer.background,
        output_format=answer.output_format,
        quality=answer.quality,
        size=f"{first.get('width')}x{first.get('height')}",
    )


async def _stream(
    runtime: Runtime,
    started: runs.Started,
    plan: translate.Plan,
    answer: Answer,
    base_url: str,
    listener: Listener,
) -> AsyncIterator[bytes]:
    """Partial images as the model reports them (upstream GPT Image models send a few; a local model
    none), then one completed event per image; a failure is an ``error`` event."""
    finished = asyncio.ensure_future(runs.finish(runtime, started, plan))
    partials = 0
    created = int(started.run.created_at.timestamp())
    try:
        while not finished.done():
            records = await listener.next(0.5)
            for record in records or []:
                preview = record.data.get("preview") if record.name == "node_progress" else None
                if isinstance(preview, str) and "," in preview and partials < answer.partial_images:
                    yield sse_data(
                        translate.partial_image_event(
                            preview.split(",", 1)[1],
                            partials,
                            created=created,
                            background=answer.background,
                            output_format="jpeg",
                            quality=answer.quality,
                            size="auto",
                        ),
                        event="image_generation.partial_image",
                    )
                    partials += 1
            if records is None:  # the bus dropped this listener: only the result is left to wait for
                await asyncio.wait([finished])
        try:
            run = finished.result()
            response = await _images(
                runtime, run, plan, answer.model_copy(update={"response_format": "b64_json"}), base_url
            )
        except PixelmillError as exc:
            yield sse_error(exc)
            return
        for image in response.data:
            yield sse_data(translate.completed_event(image, response), event="image_generation.completed")
    finally:
        listener.close()
        if not finished.done():
            finished.cancel()
