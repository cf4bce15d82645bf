"""Uploaded and generated files: validated bytes in the blob store, one File row each.

Every read is scoped to a workspace; a file of another workspace is indistinguishable from one
that does not exist (404), so ids cannot be probed across tenants.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.db.models import File, Run
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.paging import split_page
from pixelmill.storage.base import BlobStore
from pixelmill.storage.codecs import decode_image, thumbnail
from pixelmill.storage.media import MediaInfo, inspect_media, sniff_mime
from pixelmill.storage.media_store import store_blob
from pixelmill.storage.signing import MediaLink, media_link


@dataclass(frozen=True, slots=True)
class _Validated:
    info: MediaInfo
    thumbnail: bytes | None


@dataclass(frozen=True, slots=True)
class FileLinks:
    """Absolute signed links to a file's content and thumbnail, valid until ``expires``."""

    content: MediaLink
    thumbnail: MediaLink | None

    @property
    def expires(self) -> int:
        return self.content.expires


FileSource = Literal["upload", "output"]
FileMedia = Literal["image", "video", "audio"]
MAX_FILE_PAGE = 100


@dataclass(frozen=True, slots=True)
class FilePage:
    files: list[File]
    next_cursor: str | None


def _validate(data: bytes, max_pixels: int) -> _Validated:
    info = inspect_media(data, max_pixels)
    if info.kind != "image":
        return _Validated(info, None)
    pixels = decode_image(data, max_pixels)
    height, width = pixels.shape[:2]  # after EXIF orientation: what nodes will see
    preview, _mime = thumbnail(pixels)
    return _Validated(MediaInfo(kind="image", mime=info.mime, width=width, height=height), preview)


def file_not_found(file_id: str) -> PixelmillError:
    """The one answer for a file the caller cannot see, whether it never existed or is another
    workspace's."""
    return PixelmillError(errors.NOT_FOUND, "File not found", file_id=file_id)


class FileService:
    """Create and read files of a workspace."""

    def __init__(self, session: AsyncSession, blobs: BlobStore, settings: Settings) -> None:
        self.session = session
        self.blobs = blobs
        self.settings = settings

    async def create(self, workspace_id: str, data: bytes, *, filename: str | None = None) -> File:
        """Validate (type sniffed from the bytes, pixel limit, full decode), store, record."""
        if len(data) > self.settings.max_upload_bytes:
            raise PixelmillError(
                errors.PAYLOAD_TOO_LARGE,
                f"Uploads are limited to {self.settings.max_upload_bytes} bytes",
                limit=self.settings.max_upload_bytes,
            )
        if not data:
            raise PixelmillError(errors.BAD_REQUEST, "The upload is empty")
        validated = await asyncio.to_thread(_validate, data, self.settings.max_image_pixels)
        blob = await store_blob(self.blobs, data)
        thumb_sha = None
        if validated.thumbnail is not None:
            thumb_sha = (await store_blob(self.blobs, validated.thumbnail)).sha256
        info = validated.info
        row = File(
            id=new_id("file"),
            workspace_id=workspace_id,
            sha256=blob.sha256,
            mime=info.mime,
            size=blob.size,
            filename=(filename or None) and filename[:255],
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
            thumbnail_sha256=thumb_sha,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, workspace_id: str, file_id: str) -> File:
        row = await self.session.scalar(select(File).where(File.id == file_id, File.workspace_id == workspace_id))
        if row is None:
            raise file_not_found(file_id)
        return row

    async def list(
        self,
        workspace_id: str,
        *,
        source: FileSource | None = None,
        media: FileMedia | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> FilePage:
        """Newest first; ``cursor`` is the last file id of the previous page (ids sort by creation).
        Outputs of a deleted run are left out: the gallery no longer shows them either."""
        limit = max(1, min(limit, MAX_FILE_PAGE))
        query = select(File).where(File.workspace_id == workspace_id)
        if source == "upload":
            query = query.where(File.run_id.is_(None))
        elif source == "output":
            query = query.where(File.run_id.is_not(None))
        deleted_run = exists().where(Run.id == File.run_id, Run.deleted_at.is_not(None))
        query = query.where(~deleted_run)
        if media is not None:
            query = query.where(File.mime.startswith(f"{media}/"))
        if cursor is not None:
            query = query.where(File.id < cursor)
        rows = list(await self.session.scalars(query.order_by(File.id.desc()).limit(limit + 1)))
        return FilePage(*split_page(rows, limit))

    async def get_signed(self, file_id: str) -> File:
        """A file by id alone: only for requests whose signed URL already named this file."""
        row = await self.session.get(File, file_id)
        if row is None:
            raise file_not_found(file_id)
        return row

    async def _blob(self, sha256: str) -> bytes:
        try:
            return await self.blobs.get(sha256)
        except KeyError:
            raise PixelmillError(errors.NOT_FOUND, "The file's content is missing from storage") from None

    async def content(self, row: File) -> bytes:
        return await self._blob(row.sha256)

    async def thumbnail(self, row: File) -> tuple[bytes, str]:
        """The preview image and its type; files without one (audio, video) are NOT_FOUND."""
        if row.thumbnail_sha256 is None:
            raise PixelmillError(errors.NOT_FOUND, "This file has no thumbnail", file_id=row.id)
        data = await self._blob(row.thumbnail_sha256)
        return data, sniff_mime(data) or "application/octet-stream"

    def links(self, row: File, base_url: str) -> FileLinks:
        """Links through this server (``base_url``), or presigned on the bucket when the store can."""
        ttl = self.settings.signed_url_ttl_seconds
        secret = self.settings.secret
        content = media_link(
            self.blobs,
            path=f"/v1/files/{row.id}/content",
            sha256=row.sha256,
            mime=row.mime,
            secret=secret,
            ttl_seconds=ttl,
            base_url=base_url,
        )
        preview = None
        if row.thumbnail_sha256:
            preview = media_link(
                self.blobs,
                path=f"/v1/files/{row.id}/thumbnail",
                sha256=row.thumbnail_sha256,
                mime=None,  # stored with the type sniffed from the thumbnail's bytes
                secret=secret,
                ttl_seconds=ttl,
                base_url=base_url,
            )
        return FileLinks(content=content, thumbnail=preview)
