"""Files: upload (multipart or raw body), metadata, content and thumbnail, and signed links.

Uploads are read as a stream and refused with 413 as soon as they cross ``max_upload_bytes``;
the declared content type is ignored and the type is sniffed from the bytes. Content and
thumbnails answer either a bearer credential of the file's workspace or a signed link
(``?expires=&sig=``) that a browser can follow without one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.types import Message

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep, SessionDep
from pixelmill.api.openapi import BEARER_OR_SIGNED_LINK, error_responses
from pixelmill.api.signed_links import principal_or_link
from pixelmill.db.models import File
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import text_problem
from pixelmill.runtime import Runtime
from pixelmill.services.files import FileMedia, FileService, FileSource, file_not_found
from pixelmill.services.principal import Principal

# Every file route needs the files scope of an API key.
router = APIRouter(prefix="/v1/files", tags=["files"], responses=error_responses(errors.INSUFFICIENT_SCOPE))

# Multipart framing (boundaries, part headers) around the file itself.
_MULTIPART_OVERHEAD = 64 * 1024

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class FilePublic(BaseModel):
    """A stored file. ``url`` and ``thumbnail_url`` are signed links valid until ``urls_expire_at``."""

    id: str
    object: Literal["file"] = "file"
    workspace_id: str
    mime: str
    size: int
    sha256: str
    filename: str | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    run_id: str | None
    created_at: datetime
    url: str
    thumbnail_url: str | None
    urls_expire_at: datetime


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FilePublic]
    next_cursor: str | None


def _base_url(request: Request, runtime: Runtime) -> str:
    configured = runtime.settings.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _public(row: File, service: FileService, base_url: str) -> FilePublic:
    links = service.links(row, base_url)
    return FilePublic(
        id=row.id,
        workspace_id=row.workspace_id,
        mime=row.mime,
        size=row.size,
        sha256=row.sha256,
        filename=row.filename,
        width=row.width,
        height=row.height,
        duration_seconds=row.duration_seconds,
        run_id=row.run_id,
        created_at=row.created_at,
        url=links.content.url,
        thumbnail_url=links.thumbnail.url if links.thumbnail else None,
        urls_expire_at=datetime.fromtimestamp(links.expires, UTC),
    )


def _too_large(limit: int) -> PixelmillError:
    return PixelmillError(errors.PAYLOAD_TOO_LARGE, f"Uploads are limited to {limit} bytes", limit=limit)


def _limited_request(request: Request, limit: int) -> Request:
    """The same request whose body raises 413 once more than ``limit`` bytes have arrived."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return Request(request.scope, receive)


async def _read_upload(request: Request, limit: int) -> tuple[bytes, str | None]:
    """The uploaded bytes and the client's filename, from a multipart form or the raw body."""
    content_type = request.headers.get("content-type", "")
    is_multipart = content_type.startswith("multipart/form-data")
    wire_limit = limit + _MULTIPART_OVERHEAD if is_multipart else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > wire_limit:
        raise _too_large(limit)
    if not is_multipart:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
        return bytes(body), None
    async with _limited_request(request, wire_limit).form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise PixelmillError(errors.BAD_REQUEST, "The multipart form needs a 'file' part", field="file")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        problem = text_problem(upload.filename) if upload.filename else None
        if problem is not None:  # the query's filename is checked at the edge; a part header is not
            raise PixelmillError(errors.VALIDATION_ERROR, f"filename: {problem.reason}", field="filename")
        return data, upload.filename


def require_files_scope(principal: Principal) -> None:
    if "files" not in principal.scopes:
        raise PixelmillError(errors.INSUFFICIENT_SCOPE, required_scope="files")


@router.post(
    "",
    status_code=201,
    operation_id="createFile",
    summary="Upload a file (multipart field `file`, or the raw body)",
    openapi_extra=_UPLOAD_BODY,
    responses=error_responses(
        errors.INSUFFICIENT_SCOPE,
        errors.UNSUPPORTED_MEDIA_TYPE,
        errors.UNSUPPORTED_IMAGE_FORMAT,
        errors.INVALID_IMAGE,
        errors.IMAGE_TOO_LARGE,
    ),
)
async def create_file(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    filename: Annotated[str | None, Query(max_length=255, description="Name for a raw-body upload")] = None,
) -> FilePublic:
    """Store an image, video or audio file; its type is sniffed from the bytes, not the header."""
    require_files_scope(principal)
    data, form_filename = await _read_upload(request, runtime.settings.max_upload_bytes)
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await service.create(principal.workspace_id, data, filename=filename or form_filename)
    return _public(row, service, _base_url(request, runtime))


@router.get("", operation_id="listFiles")
async def list_files(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    source: Annotated[
        FileSource | None, Query(description="`upload`: files sent to POST /v1/files; `output`: runs' outputs")
    ] = None,
    media: Annotated[FileMedia | None, Query(description="Only images, videos or audio")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")] = None,
) -> FileList:
    """The workspace's files, newest first, with fresh signed links: what a picker offers."""
    require_files_scope(principal)
    service = FileService(session, runtime.blobs, runtime.settings)
    page = await service.list(principal.workspace_id, source=source, media=media, cursor=cursor, limit=limit)
    base_url = _base_url(request, runtime)
    return FileList(data=[_public(row, service, base_url) for row in page.files], next_cursor=page.next_cursor)


@router.get("/{file_id}", operation_id="getFile")
async def get_file(
    file_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> FilePublic:
    """A file's metadata with fresh signed links."""
    require_files_scope(principal)
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await service.get(principal.workspace_id, file_id)
    return _public(row, service, _base_url(request, runtime))


async def _authorised_file(
    request: Request,
    runtime: Runtime,
    service: FileService,
    file_id: str,
    part: str,
    expires: int | None,
    sig: str | None,
) -> File:
    """The file, when the caller holds a valid signed link for this path or a credential of its workspace."""
    path = f"/v1/files/{file_id}/{part}"
    principal = await principal_or_link(request, runtime, path, expires, sig, missing=file_not_found(file_id))
    if principal is None:
        return await service.get_signed(file_id)
    require_files_scope(principal)
    return await service.get(principal.workspace_id, file_id)


_SIGNED_QUERY = {
    "expires": Query(description="Expiry of a signed link (unix seconds)"),
    "sig": Query(description="Signature of a signed link"),
}


def _media_response(data: bytes, mime: str, sha256: str, *, private_seconds: int) -> Response:
    return Response(
        content=data,
        media_type=mime,
        headers={
            "Cache-Control": f"private, max-age={private_seconds}",
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            # Stored media is never a live document on this origin: an SVG opened directly runs no script.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        },
    )


_SIGNED_OR_SCOPED = error_responses(errors.INSUFFICIENT_SCOPE, errors.FORBIDDEN)


@router.get(
    "/{file_id}/content",
    operation_id="getFileContent",
    response_class=Response,
    openapi_extra=BEARER_OR_SIGNED_LINK,
    responses=_SIGNED_OR_SCOPED,
)
async def get_file_content(
    file_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    expires: Annotated[int | None, _SIGNED_QUERY["expires"]] = None,
    sig: Annotated[str | None, _SIGNED_QUERY["sig"]] = None,
) -> Response:
    """The file's bytes, with a bearer credential or a signed link."""
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await _authorised_file(request, runtime, service, file_id, "content", expires, sig)
    data = await service.content(row)
    return _media_response(data, row.mime, row.sha256, private_seconds=runtime.settings.signed_url_ttl_seconds)


@router.get(
    "/{file_id}/thumbnail",
    operation_id="getFileThumbnail",
    response_class=Response,
    openapi_extra=BEARER_OR_SIGNED_LINK,
    responses=_SIGNED_OR_SCOPED,
)
async def get_file_thumbnail(
    file_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    expires: Annotated[int | None, _SIGNED_QUERY["expires"]] = None,
    sig: Annotated[str | None, _SIGNED_QUERY["sig"]] = None,
) -> Response:
    """A preview at most 256 px on its long side (JPEG, or WebP when the image has alpha)."""
    service = FileService(session, runtime.blobs, runtime.settings)
    row = await _authorised_file(request, runtime, service, file_id, "thumbnail", expires, sig)
    data, mime = await service.thumbnail(row)
    assert row.thumbnail_sha256 is not None
    return _media_response(data, mime, row.thumbnail_sha256, private_seconds=runtime.settings.signed_url_ttl_seconds)
