"""What InvokeAI says about an uploaded image that a pixelmill file does not hold.

InvokeAI's upload names the image's category, whether it is intermediate, the session it belongs
to and a metadata object, and reads them back on the image's DTO and ``/metadata``. One row per
uploaded file keeps them; it goes with the file (scoped through it, deleted with it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class InvokeAIImage(Base):
    __tablename__ = "invokeai_images"

    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    image_category: Mapped[str] = mapped_column(String(16))
    is_intermediate: Mapped[bool] = mapped_column(default=False)
    session_id: Mapped[str | None] = mapped_column(String(200), default=None)
    image_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
