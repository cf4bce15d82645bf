"""Values that flow along edges besides plain JSON: references to stored media.

Media never travels inline between nodes: a node stores what it makes (content-addressed) and
passes a reference, so node results persist as small JSON and a resumed run can pick them up.
An input typed ``ImageRef`` also accepts a literal ``{"file_id": "file_…"}`` naming an uploaded file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MediaRef(BaseModel):
    """A stored blob: its content hash, type and the metadata a client needs to show it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["image", "video", "audio", "file"]
    sha256: str | None = Field(default=None, description="Content hash of the blob")
    file_id: str | None = Field(default=None, description="The file record, when one exists")
    mime: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


class ImageRef(MediaRef):
    """A stored image. As a literal input pass {"file_id": "file_…"} naming an uploaded file."""

    kind: Literal["image"] = "image"


class VideoRef(MediaRef):
    """A stored video. As a literal input pass {"file_id": "file_…"} naming an uploaded file."""

    kind: Literal["video"] = "video"


class AudioRef(MediaRef):
    """A stored audio clip. As a literal input pass {"file_id": "file_…"} naming an uploaded file."""

    kind: Literal["audio"] = "audio"


OutputType = Literal["image", "images", "video", "audio", "text", "json"]
