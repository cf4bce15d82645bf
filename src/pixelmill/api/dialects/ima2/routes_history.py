"""ima2's history (``/api/history``: list, tombstone, restore) and its file server (``/generated/…``).

Both read the ``ima2_files`` name index (:mod:`.files`), first naming the outputs of runs that finished
since; the bytes are pixelmill's stored outputs. A name from another workspace is 404 like an unknown
one, and sidecar metadata (``*.json``) is never served, as in ima2.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response
from PIL import Image
from pydantic import AliasChoices, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.deps import RuntimeDep
from pixelmill.api.dialects.ima2 import answers
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import NESTED
from pixelmill.api.dialects.ima2.files import Ima2FileIndex, elapsed_of, file_not_found
from pixelmill.api.dialects.ima2.jobs import METADATA_KEY, Ima2Job
from pixelmill.db.models import File, Ima2File, Run
from pixelmill.storage.media import sniff_mime

router = APIRouter(tags=["ima2"], route_class=NESTED.route_class(), include_in_schema=False)
THUMB_SUFFIX = ".thumb.jpg"
MAX_LIMIT = 500
STATIC_CACHE = "public, max-age=31536000, immutable"


async def _rows(session: AsyncSession, files: Sequence[Ima2File]) -> list[dict[str, Any]]:
    """History rows of ``files``, each with its run's job and whether a thumbnail exists."""
    run_ids = {row.run_id for row in files}
    runs = {run.id: run for run in await session.scalars(select(Run).where(Run.id.in_(run_ids)))}
    file_ids = [row.file_id for row in files]
    thumbs = set(
        await session.scalars(select(File.id).where(File.id.in_(file_ids), File.thumbnail_sha256.is_not(None)))
    )
    items = []
    for row in files:
        run = runs.get(row.run_id)
        job = Ima2Job.of(run) if run is not None else None
        prompt = job.prompt if job else str(((run.run_metadata or {}) if run else {}).get("prompt") or "")
        described = answers.HistoryFile(
            row.filename, row.mime, row.created_ms, row.position, row.favorite, row.file_id in thumbs
        )
        items.append(answers.history_row(described, job, prompt, elapsed_of(run) if run else None))
    return items


async def _runs_where(session: AsyncSession, workspace_id: str, field: str, value: str) -> list[str]:
    """Runs of the workspace whose ima2 job has ``field`` = ``value`` (``requestId``, ``sessionId``)."""
    column = Run.run_metadata[METADATA_KEY][field].as_string()
    return list(await session.scalars(select(Run.id).where(Run.workspace_id == workspace_id, column == value)))


@router.get("/api/history")
async def history(
    principal: Ima2PrincipalDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1)] = 50,
    before: Annotated[int | None, Query(ge=0)] = None,
    before_filename: Annotated[str | None, Query(alias="beforeFilename", max_length=200)] = None,
    since: Annotated[int | None, Query(ge=0)] = None,
    session_id: Annotated[str | None, Query(alias="sessionId", max_length=200)] = None,
    request_id: Annotated[str | None, Query(alias="requestId", max_length=200)] = None,
    favorites_only: Annotated[str | None, Query(alias="favoritesOnly", max_length=8)] = None,
    group_by: Annotated[str | None, Query(alias="groupBy", max_length=16)] = None,
) -> dict[str, Any]:
    """Files newest first with ``nextCursor``; ``groupBy=session`` groups them by the job's session."""
    limit = min(limit, MAX_LIMIT)
    async with runtime.db.session() as session:
        index = Ima2FileIndex(session, runtime.blobs)
        await index.catch_up(principal.workspace_id)
        run_ids: list[str] | None = None
        for field, value in (("requestId", request_id), ("sessionId", session_id)):
            if value is not None:
                matching = await _runs_where(session, principal.workspace_id, field, value)
                run_ids = matching if run_ids is None else [r for r in run_ids if r in matching]
        files, total = await index.page(
            principal.workspace_id,
            limit=limit,
            before=before,
            before_filename=before_filename,
            since=since,
            run_ids=run_ids,
            favorites_only=favorites_only in ("1", "true"),
        )
        items = await _rows(session, files)
    cursor = {"before": files[-1].created_ms, "beforeFilename": files[-1].filename} if len(files) == limit else None
    if group_by != "session":
        return {"items": items, "total": total, "nextCursor": cursor}
    sessions: dict[str, list[dict[str, Any]]] = {}
    loose = []
    for item in items:
        if item.get("sessionId"):
            sessions.setdefault(item["sessionId"], []).append(item)
        else:
            loose.append(item)
    grouped = [
        {"sessionId": key, "items": rows, "lastUsedAt": max(r["createdAt"] for r in rows), "title": None, "label": None}
        for key, rows in sessions.items()
    ]
    return {"sessions": grouped, "loose": loose, "total": total, "nextCursor": cursor}


class FavoriteBody(BaseModel):
    """``POST /api/history/favorite``: the file, and the mark to set (omitted: flip it)."""

    filename: str = Field(min_length=1, max_length=200)
    favorite: bool | None = Field(default=None, validation_alias=AliasChoices("favorite", "isFavorite"))


@router.post("/api/history/favorite")
async def favorite_file(body: FavoriteBody, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Mark or unmark a favourite, which ``favoritesOnly=1`` lists (one mark per file, per workspace)."""
    async with runtime.db.session() as session:
        row = await Ima2FileIndex(session, runtime.blobs).mark_favorite(
            principal.workspace_id, body.filename, body.favorite
        )
        marked = row.favorite
    return {"ok": True, "filename": body.filename, "isFavorite": marked}


@router.delete("/api/history/{filename}")
async def delete_file(filename: str, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Tombstone the file: gone from history and ``/generated`` until restored."""
    async with runtime.db.session() as session:
        await Ima2FileIndex(session, runtime.blobs).tombstone(principal.workspace_id, filename)
    return {"ok": True, "filename": filename}


@router.post("/api/history/{filename}/restore")
async def restore_file(filename: str, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.session() as session:
        await Ima2FileIndex(session, runtime.blobs).restore(principal.workspace_id, filename)
    return {"ok": True, "filename": filename}


@router.get("/generated/{filename}")
async def generated(filename: str, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> Response:
    """A generated file, or its ``.thumb.jpg``; ``*.json`` (ima2's sidecars) is never public."""
    if filename.endswith(".json"):
        return PlainTextResponse("Generated metadata is not public", status_code=404)
    thumb = filename.endswith(THUMB_SUFFIX)
    name = filename.removesuffix(THUMB_SUFFIX) if thumb else filename
    async with runtime.db.session() as session:
        index = Ima2FileIndex(session, runtime.blobs)
        row = await index.get(principal.workspace_id, name)
        if not thumb:
            data, _record = await index.content(row)
            return Response(data, media_type=row.mime, headers={"Cache-Control": STATIC_CACHE})
        record = await session.get(File, row.file_id)
        if record is None or record.thumbnail_sha256 is None:
            raise file_not_found(filename)
        try:
            preview = await runtime.blobs.get(record.thumbnail_sha256)
        except KeyError:
            raise file_not_found(filename) from None
    if sniff_mime(preview) != "image/jpeg":
        preview = await asyncio.to_thread(_as_jpeg, preview)
    return Response(preview, media_type="image/jpeg", headers={"Cache-Control": STATIC_CACHE})


def _as_jpeg(data: bytes) -> bytes:
    """A thumbnail stored as WebP (an image with alpha) as the JPEG ima2's ``.thumb.jpg`` promises."""
    with Image.open(io.BytesIO(data)) as picture:
        flat = Image.new("RGB", picture.size, (255, 255, 255))
        rgba = picture.convert("RGBA")
        flat.paste(rgba, mask=rgba.getchannel("A"))
    buffer = io.BytesIO()
    flat.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()
