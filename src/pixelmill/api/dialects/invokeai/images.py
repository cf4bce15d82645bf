"""Pixelmill files seen as InvokeAI images: the ImageDTO of a file, and where an output came from.

An uploaded file is an ``external`` image with the category, intermediate flag and session its
upload named (kept in :class:`~pixelmill.db.models.InvokeAIImage`); a file a run's node produced is
an ``internal`` ``general`` image whose ``session_id`` is the queue item's session and whose
``node_id`` is the node that made it (the prepared id, as InvokeAI records it). Boards are not kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.invokeai.images_schemas import ImageCategory, ImageDTO, ImageUrlsDTO
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.names import image_name_of
from pixelmill.api.dialects.invokeai.timestamps import sqlite_timestamp
from pixelmill.db.models import File, InvokeAIImage, NodeExecution, Run

THUMBNAIL_QUALITY = 80


@dataclass(frozen=True, slots=True)
class Provenance:
    """The queue item and node an output image came from (both None for an upload)."""

    session_id: str | None = None
    node_id: str | None = None


def image_urls(image_name: str) -> ImageUrlsDTO:
    """InvokeAI's URLs are relative to the server root, with no leading slash (services/urls)."""
    return ImageUrlsDTO(
        image_name=image_name,
        image_url=f"api/v1/images/i/{image_name}/full",
        thumbnail_url=f"api/v1/images/i/{image_name}/thumbnail",
    )


def image_dto(row: File, provenance: Provenance, upload: InvokeAIImage | None = None) -> ImageDTO:
    """The ImageDTO of file ``row``; ``upload``: what InvokeAI's upload said about it, if it came
    that way (a file uploaded through ``/v1/files`` reads as a ``user`` image)."""
    urls = image_urls(image_name_of(row.id, row.mime))
    created = sqlite_timestamp(row.created_at)
    internal = row.run_id is not None
    if upload is not None:
        category = ImageCategory(upload.image_category)
    else:
        category = ImageCategory.GENERAL if internal else ImageCategory.USER
    return ImageDTO(
        **urls.model_dump(),
        image_origin="internal" if internal else "external",
        image_category=category,
        width=row.width or 0,
        height=row.height or 0,
        created_at=created,
        updated_at=created,
        is_intermediate=upload.is_intermediate if upload is not None else False,
        session_id=provenance.session_id or (upload.session_id if upload is not None else None),
        node_id=provenance.node_id,
    )


def holds_file(value: Any, file_id: str) -> bool:
    """Whether a stored node output (refs, lists of refs, nested) names ``file_id``."""
    if isinstance(value, dict):
        return value.get("file_id") == file_id or any(holds_file(v, file_id) for v in value.values())
    if isinstance(value, list):
        return any(holds_file(v, file_id) for v in value)
    return False


def webp_thumbnail(data: bytes) -> bytes:
    """Pixelmill stores a JPEG preview for opaque images; InvokeAI serves WebP thumbnails."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "WEBP":
            return data
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()


async def provenance(session: AsyncSession, row: File) -> Provenance:
    """Where output file ``row`` came from: its run's queue session and the node whose outputs hold it."""
    if row.run_id is None:
        return Provenance()
    run = await session.scalar(select(Run).where(Run.id == row.run_id, Run.workspace_id == row.workspace_id))
    identity = QueueIdentity.of(run) if run is not None else None
    executions = await session.scalars(select(NodeExecution).where(NodeExecution.run_id == row.run_id))
    node_id = next((e.node_id for e in executions if holds_file(e.outputs, row.id)), None)
    return Provenance(session_id=identity.session_id if identity is not None else None, node_id=node_id)
