"""The error codes ima2 documents for generation (validation before anything runs, provider routing,
masks, references, video limits), and the envelope the generation routes answer them in.

ima2's generation routes answer flat ``{"error": "message", "code": "X"}`` bodies, except prompt and
count validation (``INVALID_PROMPT``, ``PROMPT_TOO_LONG``, ``INVALID_COUNT``), which are nested
``{"error": {"code", "message"}}``, and two messages ima2 sends with no code at all (the classic
routes' bad moderation, and an edit without prompt or image). :data:`GENERATION` picks the body per code.
"""

from __future__ import annotations

from typing import Any

from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.api.dialects.ima2.errors import FLAT, flat_body, nested_body
from pixelmill.errors import ErrorSpec, PixelmillError

# Prompt and count
INVALID_PROMPT = ErrorSpec("INVALID_PROMPT", 400, "prompt must be a non-empty string")
PROMPT_TOO_LONG = ErrorSpec("PROMPT_TOO_LONG", 400, "prompt is longer than 32000 characters")
INVALID_COUNT = ErrorSpec("INVALID_COUNT", 400, "n must be an integer from 1 to 24")
PROMPT_REQUIRED = ErrorSpec("PROMPT_REQUIRED", 400, "prompt is required")
EDIT_INPUT_REQUIRED = ErrorSpec("EDIT_INPUT_REQUIRED", 400, "Prompt and image are required")
INVALID_MODERATION = ErrorSpec("INVALID_MODERATION", 400, "moderation must be one of: auto, low")
INVALID_IMAGE = ErrorSpec("INVALID_IMAGE", 400, "image is not valid base64 image data")

# Models and providers
INVALID_IMAGE_MODEL = ErrorSpec("INVALID_IMAGE_MODEL", 400, "Unknown image model")
IMAGE_MODEL_UNSUPPORTED = ErrorSpec("IMAGE_MODEL_UNSUPPORTED", 400, "This model cannot generate images")
INVALID_GROK_IMAGE_MODEL = ErrorSpec(
    "INVALID_GROK_IMAGE_MODEL", 400, "Grok image models are grok-imagine-image and grok-imagine-image-quality"
)
INVALID_GEMINI_IMAGE_MODEL = ErrorSpec(
    "INVALID_GEMINI_IMAGE_MODEL", 400, "Gemini image models are nano-banana-2 and nano-banana-pro"
)
INVALID_REASONING_EFFORT = ErrorSpec(
    "INVALID_REASONING_EFFORT", 400, "reasoningEffort must be one of: none, low, medium, high, xhigh, max"
)
API_KEY_REQUIRED = ErrorSpec("API_KEY_REQUIRED", 401, "This provider needs an API key; none is configured")
GEMINI_API_KEY_MISSING = ErrorSpec(
    "GEMINI_API_KEY_MISSING", 401, "Gemini API key or Vertex AI credentials not configured"
)
OAUTH_UNAVAILABLE = ErrorSpec("OAUTH_UNAVAILABLE", 503, "The local provider proxy is not available")
NO_IMAGE_MODEL = ErrorSpec("OAUTH_UNAVAILABLE", 503, "No image model is installed on this server")

# References
REF_NOT_ARRAY = ErrorSpec("REF_NOT_ARRAY", 400, "references must be an array")
REF_TOO_MANY = ErrorSpec("REF_TOO_MANY", 400, "Too many reference images")
REF_NOT_STRING = ErrorSpec("REF_NOT_STRING", 400, "Each reference must be a string")
REF_EMPTY = ErrorSpec("REF_EMPTY", 400, "A reference is empty")
REF_TOO_LARGE = ErrorSpec("REF_TOO_LARGE", 413, "A reference is too large")
REF_NOT_BASE64 = ErrorSpec("REF_NOT_BASE64", 400, "A reference is not valid base64")
GROK_REF_TOO_MANY = ErrorSpec("GROK_REF_TOO_MANY", 400, "Grok takes at most 3 input images")
AGY_REF_TOO_MANY = ErrorSpec("AGY_REF_TOO_MANY", 400, "Too many reference images for agy (max 3)")
GEMINI_REF_TOO_MANY = ErrorSpec("GEMINI_REF_TOO_MANY", 400, "Gemini takes at most 3 input images")

# Edit masks
INVALID_EDIT_MASK = ErrorSpec("INVALID_EDIT_MASK", 400, "mask must be a base64 PNG string")
INVALID_EDIT_MASK_BASE64 = ErrorSpec("INVALID_EDIT_MASK_BASE64", 400, "mask is not valid base64")
INVALID_EDIT_MASK_PNG = ErrorSpec("INVALID_EDIT_MASK_PNG", 400, "mask is not a PNG image")
EDIT_MASK_NO_ALPHA = ErrorSpec("EDIT_MASK_NO_ALPHA", 400, "mask must have an alpha channel")
EDIT_MASK_DIMENSION_MISMATCH = ErrorSpec(
    "EDIT_MASK_DIMENSION_MISMATCH", 400, "mask must have the same width and height as the image"
)
EDIT_MASK_TOO_LARGE = ErrorSpec("EDIT_MASK_TOO_LARGE", 413, "mask is larger than 16 MiB")
GROK_MASK_UNSUPPORTED = ErrorSpec("GROK_MASK_UNSUPPORTED", 400, "Grok edits take no mask")
AGY_MASK_UNSUPPORTED = ErrorSpec(
    "AGY_MASK_UNSUPPORTED", 400, "Mask-based editing is not supported by the Gemini (agy) provider"
)
GEMINI_MASK_UNSUPPORTED = ErrorSpec("GEMINI_MASK_UNSUPPORTED", 400, "Gemini edits take no mask")

# Nodes
NODE_NOT_FOUND = ErrorSpec("NODE_NOT_FOUND", 404, "Node not found")

# Video
VIDEO_PROVIDER_UNSUPPORTED = ErrorSpec(
    "VIDEO_PROVIDER_UNSUPPORTED", 400, 'Video generation requires provider "grok" or "grok-api"'
)
AGY_VIDEO_UNSUPPORTED = ErrorSpec(
    "AGY_VIDEO_UNSUPPORTED", 400, "Video generation is not supported by the Gemini (agy) provider"
)
INVALID_GROK_VIDEO_MODEL = ErrorSpec("INVALID_GROK_VIDEO_MODEL", 400, "The video model is grok-imagine-video")
INVALID_VIDEO_DURATION = ErrorSpec("INVALID_VIDEO_DURATION", 400, "duration must be an integer from 1 to 15")
INVALID_VIDEO_RESOLUTION = ErrorSpec("INVALID_VIDEO_RESOLUTION", 400, "resolution must be 480p, 720p or 1080p")
INVALID_VIDEO_ASPECT_RATIO = ErrorSpec(
    "INVALID_VIDEO_ASPECT_RATIO", 400, "aspectRatio must be one of: 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, auto"
)
GROK_VIDEO_REF_TOO_MANY = ErrorSpec("GROK_VIDEO_REF_TOO_MANY", 400, "A video takes at most 7 reference images")
GROK_VIDEO_FRAME_FAILED = ErrorSpec("GROK_VIDEO_FRAME_FAILED", 400, "The parent video's frame could not be extracted")
VIDEO_NOT_FOUND = ErrorSpec("VIDEO_NOT_FOUND", 404, "No generated video has this filename")

# Results
EMPTY_RESPONSE = ErrorSpec("EMPTY_RESPONSE", 422, "The provider returned no image")

NESTED_CODES = frozenset({INVALID_PROMPT.code, PROMPT_TOO_LONG.code, INVALID_COUNT.code})
UNCODED = frozenset({EDIT_INPUT_REQUIRED.code, INVALID_MODERATION.code})


def generation_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    """ima2's body for a failure of a classic, edit, multimode or video route (see the module doc)."""
    if exc.code in NESTED_CODES:
        return nested_body(exc, message)
    if exc.code in UNCODED:
        return {"error": message}
    return flat_body(exc, message)


# The statuses are ima2's everywhere (see :mod:`.errors`); only the body is picked per code.
GENERATION = ErrorEnvelope(statuses=FLAT.statuses, codes=FLAT.codes, body=generation_body)
