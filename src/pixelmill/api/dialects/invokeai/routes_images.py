"""InvokeAI's image routes at ``/api/v1/images``: pixelmill files (uploads and run outputs) by name.

A name is ``<file_id>.<ext>`` (:mod:`.names`); every read is scoped to the caller's workspace, so
another workspace's image answers exactly like an unknown name (404). Uploads are stored as PNG, as
InvokeAI stores them, so ``/full`` of an upload is always PNG.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep, SessionDep
from pixelmill.api.dialects.invokeai.envelope import ENVELOPE
from pixelmill.api.dialects.invokeai.images import image_dto, image_urls, provenance, webp_thumbnail
from pixelmill.api.dialects.invokeai.images_schemas import ImageCategory, ImageDTO, ImageUrlsDTO
from pixelmill.api.dialects.invokeai.names import file_id_of, image_name_of
from pixelmill.api.routers.files import read_upload, require_files_scope
from pixelmill.db.models import File
from pixelmill.errors import PixelmillError
from pixelmill.services.files import FileService
from pixelmill.storage.codecs import decode_image, encode_image
from pixelmill.storage.media import sniff_mime

router = APIRouter(
    prefix="/api/v1/images", tags=["invokeai"], route_class=ENVELOPE.route_class(), include_in_schema=False
)
# A full image may be cached by the browser that fetched it, never by a shared cache.
PRIVATE_SECONDS = 3600


def _not_found() -> PixelmillError:
    """InvokeAI's bare 404 (``HTTPException(404)``): the answer names nothing, not even the name sent."""
    return PixelmillError(errors.NOT_FOUND, "Not Found")


async def _image(service: FileService, workspace_id: str, image_name: str) -> File:
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


def _as_png(data: bytes, max_pixels: int) -> bytes:
    """The upload as PNG (EXIF orientation applied); a PNG is kept as sent."""
    if sniff_mime(data) == "image/png":
        return data
    return encode_image(decode_image(data, max_pixels), "png")


@router.post("/upload", status_code=201)
async def upload_image(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    image_category: Annotated[ImageCategory, Query()],
    is_intermediate: Annotated[bool, Query()],
    board_id: Annotated[str | None, Query(max_length=200)] = None,
    session_id: Annotated[str | None, Query(max_length=200)] = None,
    crop_visible: Annotated[bool, Query()] = False,
) -> JSONResponse:
    """Multipart part ``file``; 201 with the ImageDTO and ``Location`` set to its ``image_url``.
    Not an image: 415. Boards are not kept (``board_id`` is accepted and ignored)."""
    require_files_scope(principal)
    data, filename = await read_upload(request, runtime.settings.max_upload_bytes)
    mime = sniff_mime(data)
    if mime is None or not mime.startswith("image/") or mime == "image/svg+xml":
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, "Not an image")
    png = await asyncio.to_thread(_as_png, data, runtime.settings.max_image_pixels)
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await service.create(principal.workspace_id, png, filename=filename)
    dto = image_dto(row, await provenance(session, row))
    return JSONResponse(dto.model_dump(mode="json"), status_code=201, headers={"Location": dto.image_url})


@router.get("/i/{image_name}")
async def get_image_dto(image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> ImageDTO:
    require_files_scope(principal)
    row = await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    return image_dto(row, await provenance(session, row))


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
    """InvokeAI's generation metadata of the image; pixelmill records none, so null for every image."""
    require_files_scope(principal)
    await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    return JSONResponse(None)


@router.get("/i/{image_name}/urls")
async def get_image_urls(
    image_name: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> ImageUrlsDTO:
    require_files_scope(principal)
    await _image(FileService(session, runtime.blobs, runtime.settings), principal.workspace_id, image_name)
    return image_urls(image_name)
