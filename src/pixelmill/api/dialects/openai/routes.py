"""The one router the registry serves: images, chat and speech (``GET /v1/models`` is the canonical
catalogue, which already has OpenAI's list shape)."""

from __future__ import annotations

from fastapi import APIRouter

from pixelmill.api.dialects.openai import chat, images, speech
from pixelmill.api.dialects.openai.errors import ENVELOPE

router = APIRouter(include_in_schema=False)
router.include_router(images.router)
router.include_router(chat.router)
router.include_router(speech.router)
# Where an error the edge middleware raises (body size, idempotency) answers in OpenAI's envelope.
ERROR_PREFIXES = ("/v1/images/", "/v1/chat/", "/v1/audio/")
ERROR_SHAPES = tuple((prefix, ENVELOPE) for prefix in ERROR_PREFIXES)
