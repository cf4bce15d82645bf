"""InvokeAI's image records on the wire (services/images/images_common.py): ``ImageDTO`` and ``ImageUrlsDTO``."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel


class ImageCategory(StrEnum):
    """What an image is for; InvokeAI's upload requires one."""

    GENERAL = "general"
    MASK = "mask"
    CONTROL = "control"
    USER = "user"
    OTHER = "other"


class ImageUrlsDTO(BaseModel):
    image_name: str
    image_url: str
    thumbnail_url: str


class ImageDTO(ImageUrlsDTO):
    """An image as InvokeAI describes it; the URLs are relative to the server's root, with no leading slash."""

    image_origin: Literal["internal", "external"]
    image_category: ImageCategory
    width: int
    height: int
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    is_intermediate: bool
    session_id: str | None = None
    node_id: str | None = None
    starred: bool = False
    has_workflow: bool = False
    image_subfolder: str = ""
    board_id: str | None = None
