"""InvokeAI's image routes at ``/api/v1/images``: pixelmill files (uploads and run outputs) by name.

A name is ``<file_id>.<ext>`` (:mod:`.names`); every read is scoped to the caller's workspace, so
another workspace's image answers exactly like an unknown name (404). Uploads are stored as PNG, as
InvokeAI stores them, so ``/full`` of an upload is always PNG.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter, ValidationError

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep, SessionDep
from pixelmill.api.dialects.invokeai.envelope import ENVELOPE
from pixelmill.api.dialects.invokeai.images import Provenance, image_dto, image_urls, provenance, webp_thumbnail
from pixelmill.api.dialects.invokeai.images_schemas import ImageCategory, ImageDTO, ImageUrlsDTO
from pixelmill.api.dialects.invokeai.names import file_id_of, image_name_of
from pixelmill.api.routers.files import require_files_scope
from pixelmill.db.models import File as FileRow
from pixelmill.db.models import InvokeAIImage
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import FreeJsonObject, text_problem
from pixelmill.services.files import FileService
from pixelmill.storage.codecs import decode_image, encode_image
from pixelmill.storage.media import sniff_mime

router = APIRouter(
    prefix="/api/v1/images", tags=["invokeai"], route_class=ENVELOPE.route_class(), include_in_schema=False
)
_SIZE = TypeAdapter(tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]])
_METADATA: TypeAdapter[dict[str, Any]] = TypeAdapter(FreeJsonObject)
# A full image may be cached by the browser that fetched it, never by a shared cache.
PRIVATE_SECONDS = 3600


def _not_found() -> PixelmillError:
    """InvokeAI's bare 404 (``HTTPException(404)``): the answer names nothing, not even the name sent."""
    return PixelmillError(errors.NOT_FOUND, "Not Found")


async def _image(service: FileService, workspace_id: str, image_name: str) -> FileRow:
    """The workspace's image called ``image_name``: 404 alike for malformed, unknown, other
    workspaces' and non-image files, and for a right id under the wrong extension."""
    file_id = file_id_of(image_name)
    if file_id is None:
        raise _not_found()
    try:
        row = await service.get(workspace_id, file_id)
    except PixelmillError as exc:
        if exc.spec is errors.NOT_FOUND:
            raise _not_found() from None
        raise
    if not row.mime.startswith("image/") or image_name_of(row.id, row.mime) != image_name:
        raise _not_found()
    return row


def _stored_png(data: bytes, max_pixels: int, size: tuple[int, int] | None) -> bytes:
    """The upload as PNG (EXIF orientation applied), resized to ``size`` when given; a PNG kept as
    it is is kept byte for byte."""
    if size is None and sniff_mime(data) == "image/png":
        return data
    pixels = decode_image(data, max_pixels)
    if size is not None:
        pixels = np.ascontiguousarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))
    return encode_image(pixels, "png")


def _resize_to(raw: str | None, max_pixels: int) -> tuple[int, int] | None:
    """InvokeAI's ``resize_to`` form field, ``"[w,h]"``; 422 unless a canvas pixelmill accepts."""
    if raw is None:
        return None
    try:
        width, height = _SIZE.validate_json(raw)
    except ValidationError:
        width = height = 0
    if width < 1 or height < 1 or width * height > max_pixels:
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"resize_to: must be [width, height] of at most {max_pixels} pixels",
            field="resize_to",
            errors=[{"field": "resize_to", "message": "not a size pixelmill accepts", "type": "value_error"}],
        )
    return width, height


def _metadata(raw: str | None) -> dict[str, Any] | None:
    """InvokeAI's ``metadata`` form field: a JSON object as a string, bounded like pixelmill's metadata."""
    if raw is None:
        return None
    try:
        return _METADATA.validate_json(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"metadata: {problem['msg']}",
            field="metadata",
            errors=[{"field": "metadata", "message": problem["msg"], "type": problem["type"]}],
        ) from None


@router.post("/upload", status_code=201)
async def upload_image(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    image_category: Annotated[ImageCategory, Query()],
    is_intermediate: Annotated[bool, Query()],
    board_id: Annotated[str | None, Query(max_length=200)] = None,
    session_id: Annotated[str | None, Query(max_length=200)] = None,
    crop_visible: Annotated[bool, Query()] = False,
    resize_to: Annotated[str | None, Form(max_length=64)] = None,
    metadata: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """Multipart part ``file``; 201 with the ImageDTO and ``Location`` set to its ``image_url``.
    Not an image: 415. Boards are not kept (``board_id`` is accepted and ignored), nor is
    ``crop_visible`` (pixelmill keeps no canvas to crop to)."""
    require_files_scope(principal)
    limit = runtime.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PixelmillError(errors.PAYLOAD_TOO_LARGE, f"Uploads are limited to {limit} bytes", limit=limit)
    size = _resize_to(resize_to, runtime.settings.max_image_pixels)
    extra = _metadata(metadata)
    mime = sniff_mime(data)
    if mime is None or not mime.startswith("image/") or mime == "image/svg+xml":
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, "Not an image")
    filename = file.filename if file.filename and text_problem(file.filename) is None else None
    png = await asyncio.to_thread(_stored_png, data, runtime.settings.max_image_pixels, size)
    row = await FileService(session, runtime.blobs, runtime.settings).create(
        principal.workspace_id, png, filename=filename
    )
    record = InvokeAIImage(
        file_id=row.id,
        image_category=image_category.value,
        is_intermediate=is_intermediate,
        session_id=session_id,
        image_metadata=extra,
    )
    session.add(record)
    await session.flush()
    dto = image_dto(row, Provenance(session_id=session_id), record)
    return JSONResponse(dto.model_dump(mode="json"), status_code=201, headers={"Location": dto.image_url})


@router.get("/i/{image_name}")
async def get_image_dto(image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> ImageDTO:
    require_files_scope(principal)
    row = await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    return image_dto(row, await provenance(session, row), await session.get(InvokeAIImage, row.id))


@router.api_route("/i/{image_name}/full", methods=["GET", "HEAD"], response_class=Response)
async def get_image_full(
    image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    require_files_scope(principal)
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await _image(service, principal.workspace_id, image_name)
    return Response(
        await service.content(row),
        media_type=row.mime,
        headers={
            "Content-Disposition": f'inline; filename="{image_name}"',
            "Cache-Control": f"private, max-age={PRIVATE_SECONDS}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/i/{image_name}/thumbnail", response_class=Response)
async def get_image_thumbnail(
    image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    require_files_scope(principal)
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await _image(service, principal.workspace_id, image_name)
    preview, _mime = await service.thumbnail(row)
    webp = await asyncio.to_thread(webp_thumbnail, preview)
    return Response(webp, media_type="image/webp", headers={"Cache-Control": f"private, max-age={PRIVATE_SECONDS}"})


@router.get("/i/{image_name}/metadata")
async def get_image_metadata(
    image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> JSONResponse:
    """The metadata object sent with the upload; null for an image uploaded without one and for
    run outputs (pixelmill's runs keep their settings on the run, not in InvokeAI's metadata)."""
    require_files_scope(principal)
    row = await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    record = await session.get(InvokeAIImage, row.id)
    return JSONResponse(record.image_metadata if record is not None else None)


@router.get("/i/{image_name}/urls")
async def get_image_urls(
    image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> ImageUrlsDTO:
    require_files_scope(principal)
    await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    return image_urls(image_name)
