"""ima2's per-workspace choices that ima2 keeps in its config file: ``geminiAuthMode``.

``gemini-api`` requests go to Gemini with an API key (``apikey``) or to Vertex AI with a service
account (``vertex``). As in ima2, a saved choice wins; without one, Vertex is used when it is
configured, else the API key.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.base import utcnow
from pixelmill.db.models.ima2 import Ima2Preference

GeminiAuthMode = Literal["apikey", "vertex"]
GEMINI_AUTH_MODES: tuple[GeminiAuthMode, ...] = ("apikey", "vertex")


async def gemini_auth_mode(session: AsyncSession, workspace_id: str, *, vertex_configured: bool) -> GeminiAuthMode:
    row = await session.get(Ima2Preference, workspace_id)
    if row is not None and row.gemini_auth_mode == "apikey":
        return "apikey"
    if row is not None and row.gemini_auth_mode == "vertex":
        return "vertex"
    return "vertex" if vertex_configured else "apikey"


async def set_gemini_auth_mode(session: AsyncSession, workspace_id: str, mode: GeminiAuthMode) -> None:
    row = await session.get(Ima2Preference, workspace_id)
    if row is None:
        session.add(Ima2Preference(workspace_id=workspace_id, gemini_auth_mode=mode, updated_at=utcnow()))
    else:
        row.gemini_auth_mode = mode
        row.updated_at = utcnow()
