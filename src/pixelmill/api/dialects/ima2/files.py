"""ima2's file names for run outputs, and the index that maps them back (the ``ima2_files`` table).

A name is made from the run, so it is the same whoever names it first (the request that waited for
the run, the history listing, the events stream): ``<ms>_<8hex>_<i>.png`` for classic generations,
``<ms>_<8hex>.png`` for edits and videos (``.mp4``), ``<ms>_<8hex>_multimode_<i>.png`` for sequences and
``n_<10hex>.png`` for nodes, where ``ms`` is the run's creation time and the hex comes from the run id.
Runs made through other APIs get the classic form, so ima2's history shows every output.

:meth:`Ima2FileIndex.register` names a finished run's outputs (idempotent); :meth:`catch_up` names those
of runs nobody waited for, before a listing reads the table. Another workspace's name reads as unknown,
and so does the name of an output whose run was deleted or emptied by retention.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.dialects.ima2.answers import Produced
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.db.base import utcnow
from pixelmill.db.models import File, Ima2File, Run
from pixelmill.errors import PixelmillError
from pixelmill.services.run_outputs import output_refs
from pixelmill.storage.base import BlobStore

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", "video/mp4": "mp4"}
_DIGITS = re.compile(r"(\d+)")
# How many unnamed runs one listing names; the rest are named by the next listings.
CATCH_UP_RUNS = 200


def created_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def extension(mime: str) -> str:
    return _EXTENSIONS.get(mime, mime.rpartition("/")[2] or "bin")


def filename_for(job: Ima2Job | None, run_id: str, created_at: datetime, position: int, total: int, mime: str) -> str:
    """ima2's name for output ``position`` (of ``total``) of a run (see the module doc)."""
    ext = extension(mime)
    stem = f"{created_ms(created_at)}_{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"
    kind = job.kind if job is not None else "classic"
    if kind == "node" and job is not None and job.nodeId:
        return f"{job.nodeId}.{ext}" if position == 0 else f"{job.nodeId}_{position}.{ext}"
    if kind == "multimode":
        return f"{stem}_multimode_{position}.{ext}"
    if kind in ("edit", "video") and total == 1:
        return f"{stem}.{ext}"
    return f"{stem}_{position}.{ext}"


def _natural(node_id: str) -> list[Any]:
    """``image_2`` before ``image_10``: the order a request's images were asked for."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(node_id)]


def media_outputs(run: Run) -> list[dict[str, Any]]:
    """The run's image and video output references, in node order then output order."""
    outputs = run.outputs or {}
    refs: list[dict[str, Any]] = []
    for node_id in sorted(outputs, key=_natural):
        output = outputs[node_id]
        if isinstance(output, dict):
            refs.extend(ref for ref in output_refs(output) if ref.get("kind") in ("image", "video"))
    return [ref for ref in refs if isinstance(ref.get("file_id"), str)]


def elapsed_of(run: Run) -> float | None:
    """Seconds from queueing to the end, as ima2's ``elapsed``; None while unfinished."""
    return (run.completed_at - run.created_at).total_seconds() if run.completed_at else None


def _readable() -> Any:
    """The file's run is neither deleted nor emptied by retention: its outputs still exist."""
    return exists().where(Run.id == Ima2File.run_id, Run.deleted_at.is_(None), Run.data_state == "present")


def file_not_found(filename: str) -> PixelmillError:
    return PixelmillError(errors.NOT_FOUND, "File not found", filename=filename)


class Ima2FileIndex:
    """Name, find, list, tombstone and restore the ima2 files of one workspace's runs."""

    def __init__(self, session: AsyncSession, blobs: BlobStore) -> None:
        self.session = session
        self.blobs = blobs

    async def register(self, run: Run) -> list[Ima2File]:
        """The names of a completed run's outputs, made on first call; none for an unfinished run."""
        existing = await self._of_run(run.id)
        if existing or run.status != "completed":
            return existing
        refs = media_outputs(run)
        job = Ima2Job.of(run)
        rows = [
            Ima2File(
                filename=filename_for(job, run.id, run.created_at, position, len(refs), str(ref.get("mime") or "")),
                workspace_id=run.workspace_id,
                run_id=run.id,
                file_id=ref["file_id"],
                position=position,
                mime=str(ref.get("mime") or "application/octet-stream"),
                created_ms=created_ms(run.created_at),
                favorite=False,
            )
            for position, ref in enumerate(refs)
        ]
        try:
            async with self.session.begin_nested():
                self.session.add_all(rows)
        except IntegrityError:
            return await self._of_run(run.id)  # named meanwhile by another request
        return rows

    async def _of_run(self, run_id: str) -> list[Ima2File]:
        rows = await self.session.scalars(select(Ima2File).where(Ima2File.run_id == run_id).order_by(Ima2File.position))
        return list(rows)

    async def catch_up(self, workspace_id: str) -> None:
        """Name the outputs of the workspace's finished runs that have none yet."""
        named = exists().where(Ima2File.run_id == Run.id)
        has_files = exists().where(File.run_id == Run.id)
        runs = await self.session.scalars(
            select(Run)
            .where(
                Run.workspace_id == workspace_id,
                Run.status == "completed",
                Run.deleted_at.is_(None),
                has_files,
                ~named,
            )
            .order_by(Run.created_at.desc())
            .limit(CATCH_UP_RUNS)
        )
        for run in list(runs):
            await self.register(run)

    async def get(self, workspace_id: str, filename: str, *, deleted: bool = False) -> Ima2File:
        """The file by its ima2 name; 404 alike for unknown names, other workspaces' and tombstoned ones
        (``deleted=True`` finds tombstoned ones only, for restore)."""
        row = await self.session.scalar(
            select(Ima2File).where(Ima2File.filename == filename, Ima2File.workspace_id == workspace_id, _readable())
        )
        if row is None or (row.deleted_at is not None) != deleted:
            raise file_not_found(filename)
        return row

    async def node(self, workspace_id: str, node_id: str) -> Ima2File | None:
        """The live image of node ``node_id`` (named ``<nodeId>.<ext>``), if the workspace has it."""
        row: Ima2File | None = await self.session.scalar(
            select(Ima2File).where(
                Ima2File.workspace_id == workspace_id,
                Ima2File.filename.startswith(f"{node_id}.", autoescape=True),
                Ima2File.deleted_at.is_(None),
                _readable(),
            )
        )
        return row

    async def page(
        self,
        workspace_id: str,
        *,
        limit: int,
        before: int | None = None,
        before_filename: str | None = None,
        since: int | None = None,
        run_ids: Sequence[str] | None = None,
        favorites_only: bool = False,
    ) -> tuple[list[Ima2File], int]:
        """Live files newest first (``createdAt`` desc, then filename desc) after the cursor, and how
        many live files match the filters in all."""
        live = [Ima2File.workspace_id == workspace_id, Ima2File.deleted_at.is_(None), _readable()]
        if since is not None:
            live.append(Ima2File.created_ms >= since)
        if run_ids is not None:
            live.append(Ima2File.run_id.in_(list(run_ids)))
        if favorites_only:
            live.append(Ima2File.favorite.is_(True))
        query = select(Ima2File).where(*live)
        if before is not None:
            if before_filename is not None:
                query = query.where(
                    (Ima2File.created_ms < before)
                    | ((Ima2File.created_ms == before) & (Ima2File.filename < before_filename))
                )
            else:
                query = query.where(Ima2File.created_ms < before)
        rows = list(
            await self.session.scalars(
                query.order_by(Ima2File.created_ms.desc(), Ima2File.filename.desc()).limit(limit)
            )
        )
        total = await self.session.scalar(select(func.count()).select_from(Ima2File).where(*live))
        return rows, int(total or 0)

    async def tombstone(self, workspace_id: str, filename: str) -> Ima2File:
        row = await self.get(workspace_id, filename)
        row.deleted_at = utcnow()
        return row

    async def restore(self, workspace_id: str, filename: str) -> Ima2File:
        row = await self.get(workspace_id, filename, deleted=True)
        row.deleted_at = None
        return row

    async def mark_favorite(self, workspace_id: str, filename: str, favorite: bool | None) -> Ima2File:
        """Set the favourite mark (``None`` flips it)."""
        row = await self.get(workspace_id, filename)
        row.favorite = (not row.favorite) if favorite is None else favorite
        return row

    async def content(self, row: Ima2File) -> tuple[bytes, File]:
        record = await self.session.get(File, row.file_id)
        if record is None:
            raise file_not_found(row.filename)
        try:
            return await self.blobs.get(record.sha256), record
        except KeyError:
            raise file_not_found(row.filename) from None

    async def produced(self, rows: Sequence[Ima2File]) -> list[Produced]:
        """The rows with their bytes, as an answer carries them inline."""
        items = []
        for row in rows:
            data, _record = await self.content(row)
            items.append(Produced(row.filename, row.mime, data, row.created_ms))
        return items
