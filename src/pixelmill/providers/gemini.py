"""Gemini image models ("nano banana") through ``generateContent``: the Gemini API with an API key.

Models are ``gemini/<name>``, listed only when a key is configured (``GEMINI_API_KEY``, sent as
``x-goog-api-key``); none is usable with test keys. The wire format is built and read by the pure
functions here, which the Vertex AI adapter (``providers/vertex.py``) shares: one ``user`` turn whose
parts are the prompt and any input images as ``inlineData``, ``responseModalities`` TEXT and IMAGE,
and ``imageConfig`` with the ``aspectRatio`` nearest the requested size and, for models that take it,
the ``imageSize`` (1K, 2K, 4K) nearest in pixel count. An edit sends no ``aspectRatio``, so the model
keeps the input's. Gemini makes one image per call, so ``n`` images are ``n`` calls.

An answer's parts marked ``"thought": true`` are drafts and skipped; the first other image is the
result and the model's text is kept as notes in the usage. Safety blocks arrive as HTTP 200, either as
a ``promptFeedback.blockReason`` or a ``finishReason`` such as IMAGE_SAFETY: both are SAFETY_REFUSAL
with Google's reason kept. Google's error body ``{"error": {code, message, status, details}}`` is
read once for both upstreams: a bad key (400 API_KEY_INVALID) and 401/403 are UPSTREAM_AUTH_FAILED,
and a 429's RetryInfo delay is how long the client waits before it retries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import io
import json
import logging
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

import httpx
from PIL import Image, UnidentifiedImageError

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ImageToImageRequest, ModelInfo, TextToImageRequest, UsageCallback
from pixelmill.providers.openai import png_bytes
from pixelmill.providers.upstream.client import Call, UpstreamAdapter, UpstreamConfig
from pixelmill.providers.upstream.failures import UpstreamFailure, redact, to_error

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "gemini"
# The aspect ratios the image models make, as written on the wire.
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
# imageSize values and the side of a square image of that many pixels.
IMAGE_SIDES = {"1K": 1024, "2K": 2048, "4K": 4096}
MAX_IMAGES = 4  # one call each; more is better asked of a batch
# Finish and block reasons that mean Google's safety or policy systems withheld the image.
SAFETY_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)
# ErrorInfo reasons and statuses that mean the credentials were refused, whatever the HTTP status.
AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "ACCESS_TOKEN_EXPIRED", "CREDENTIALS_MISSING"})
AUTH_STATUSES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
MAX_NOTES = 1000  # characters of the model's own text kept with the usage
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


@dataclass(frozen=True, slots=True)
class GeminiModel:
    """One Gemini image model as the catalogue shows it."""

    name: str
    description: str
    image_sizes: tuple[str, ...]  # imageSize values it takes; none: it makes 1K only and gets no imageSize
    max_reference_images: int
    cost: int = 5  # credits per image: the image nodes' own price until the operator sets model_credit_costs


MODELS: dict[str, GeminiModel] = {
    spec.name: spec
    for spec in (
        GeminiModel(
            "gemini-2.5-flash-image",
            "Gemini 2.5 Flash Image: text to image and edits with up to 3 input images, 1K",
            image_sizes=(),
            max_reference_images=3,
        ),
        GeminiModel(
            "gemini-3-pro-image-preview",
            "Gemini 3 Pro Image (preview): 1K, 2K or 4K, edits with up to 14 reference images",
            image_sizes=("1K", "2K", "4K"),
            max_reference_images=14,
        ),
        GeminiModel(
            "gemini-3.1-flash-image-preview",
            "Gemini 3.1 Flash Image (preview): 1K, 2K or 4K, edits with up to 10 reference images",
            image_sizes=("1K", "2K", "4K"),
            max_reference_images=10,
        ),
    )
}


def model_spec(provider: str, model_id: str) -> GeminiModel:
    """The spec of ``<provider>/<name>``; an id the adapter does not serve is INVALID_INPUT."""
    spec = MODELS.get(model_id.removeprefix(f"{provider}/"))
    if spec is None or not model_id.startswith(f"{provider}/"):
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown model {model_id!r}", field="model", model=model_id)
    return spec


def model_info(provider: str, spec: GeminiModel) -> ModelInfo:
    return ModelInfo(
        id=f"{provider}/{spec.name}",
        provider=provider,
        generation_type="image",
        capabilities=("text-to-image", "image-to-image"),
        cost=spec.cost,
        description=spec.description,
        sandbox=False,
        limits={
            "aspect_ratios": list(ASPECT_RATIOS),
            "image_sizes": list(spec.image_sizes or ("1K",)),
            "max_images": MAX_IMAGES,
            "max_reference_images": spec.max_reference_images,
            "mask": False,
        },
    )


def _ratio(aspect: str) -> float:
    width, height = aspect.split(":")
    return float(width) / float(height)


def aspect_ratio(width: int, height: int) -> str:
    """The ``aspectRatio`` nearest ``width`` x ``height`` in log scale (2:1 and 1:2 equally far from 1:1)."""
    wanted = math.log(width / height)
    return min(ASPECT_RATIOS, key=lambda name: abs(math.log(_ratio(name)) - wanted))


def image_size(spec: GeminiModel, width: int, height: int) -> str | None:
    """The model's ``imageSize`` nearest ``width * height`` in log pixel count: the line between two
    sizes is the geometric mean of theirs (2048x1152 is 2K, 1824x1024 stays 1K, 3840x2160 is just
    under the 2K/4K line). None for a model that takes no ``imageSize``."""
    if not spec.image_sizes:
        return None
    wanted = math.log(width * height)
    return min(spec.image_sizes, key=lambda name: abs(math.log(IMAGE_SIDES[name] ** 2) - wanted))


def inline_image(png: bytes) -> dict[str, Any]:
    """An input image as a part: ``inlineData`` with base64 PNG bytes."""
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}


def request_body(
    spec: GeminiModel, prompt: str, images: list[bytes], *, size: tuple[int, int], keep_ratio: bool
) -> dict[str, Any]:
    """The JSON of ``:generateContent``: one ``user`` turn (Vertex requires the role) with the prompt
    and then the images; with ``keep_ratio`` (an edit) no ``aspectRatio``, so the input's is kept."""
    if not prompt:
        raise PixelmillError(errors.INVALID_INPUT, f"{spec.name} needs a prompt", field="prompt")
    if len(images) > spec.max_reference_images:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"{spec.name} takes at most {spec.max_reference_images} reference images",
            field="reference_images",
        )
    image_config: dict[str, str] = {}
    if not keep_ratio:
        image_config["aspectRatio"] = aspect_ratio(*size)
    chosen = image_size(spec, *size)
    if chosen is not None:
        image_config["imageSize"] = chosen
    generation: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if image_config:
        generation["imageConfig"] = image_config
    parts: list[dict[str, Any]] = [{"text": prompt}, *(inline_image(png) for png in images)]
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": generation}


def duration_seconds(value: Any) -> float | None:
    """A protobuf Duration as JSON (``"41s"``, ``"0.5s"``) in seconds; None when it is not one."""
    match = DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def google_failure(payload: Any, status: int) -> UpstreamFailure:
    """Google's ``{"error": {code, message, status, details}}`` as an UpstreamFailure: the ErrorInfo
    reason (else the status name) as the code, a BadRequest's first field as the parameter, and a
    RetryInfo delay as the wait before a retry."""
    if isinstance(payload, list) and payload:  # streamed answers wrap the error in a list
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return UpstreamFailure(status=status)
    status_name = error.get("status") if isinstance(error.get("status"), str) else None
    reason: str | None = None
    param: str | None = None
    retry_after: float | None = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and isinstance(detail.get("reason"), str):
            reason = reason or detail["reason"]
        elif kind.endswith("google.rpc.RetryInfo"):
            retry_after = duration_seconds(detail.get("retryDelay"))
        elif kind.endswith("google.rpc.BadRequest"):
            violations = detail.get("fieldViolations")
            first = violations[0] if isinstance(violations, list) and violations else None
            if isinstance(first, dict) and isinstance(first.get("field"), str) and param is None:
                param = first["field"]
    message = error.get("message")
    return UpstreamFailure(
        status=status,
        code=reason or status_name,
        param=param,
        message=message if isinstance(message, str) else "",
        auth=reason in AUTH_REASONS or status_name in AUTH_STATUSES,
        retry_after=retry_after,
    )


def read_error(response: httpx.Response, body: bytes) -> UpstreamFailure:
    """A failed answer of the Gemini API or Vertex AI, read with :func:`google_failure`."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    return google_failure(payload, response.status_code)


@dataclass
class Usage:
    """What Google reported about a node's calls: tokens, the model version that answered, its text."""

    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    thoughts_tokens: int | None = None
    notes: list[str] = field(default_factory=list)

    FIELDS: ClassVar[dict[str, str]] = {
        "promptTokenCount": "input_tokens",
        "candidatesTokenCount": "output_tokens",
        "totalTokenCount": "total_tokens",
        "thoughtsTokenCount": "thoughts_tokens",
    }

    def add(self, payload: dict[str, Any]) -> None:
        reported = payload.get("usageMetadata")
        if isinstance(reported, dict):
            for wire, name in self.FIELDS.items():
                value = reported.get(wire)
                if isinstance(value, int):
                    setattr(self, name, (getattr(self, name) or 0) + value)
        if isinstance(payload.get("modelVersion"), str) and payload["modelVersion"]:
            self.model = payload["modelVersion"]

    def public(self, provider: str) -> dict[str, Any]:
        """What a run read shows: the provider, the model that answered, the tokens, the model's text."""
        shown: dict[str, Any] = {"provider": provider, "model": self.model}
        for name in self.FIELDS.values():
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        if self.notes:
            shown["notes"] = "\n".join(self.notes)[:MAX_NOTES]
        return shown


def decode_image(provider: str, value: Any) -> Image.Image:
    """One ``inlineData.data`` value as a loaded image; anything else is UPSTREAM_UNAVAILABLE."""
    try:
        image = Image.open(io.BytesIO(base64.b64decode(str(value), validate=True)))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE,
            f"{provider} answered with an image that could not be decoded",
            provider=provider,
        ) from None
    return image


def _blob(part: dict[str, Any]) -> dict[str, Any] | None:
    """A part's image blob (``inlineData``, or ``inline_data`` as some proxies write it), if it is an image."""
    blob = part.get("inlineData", part.get("inline_data"))
    if not isinstance(blob, dict):
        return None
    mime = blob.get("mimeType", blob.get("mime_type"))
    return blob if isinstance(mime, str) and mime.startswith("image/") and blob.get("data") else None


def image_of(payload: Any, usage: Usage, *, provider: str, secret: str | None = None) -> Image.Image:
    """The image of one ``GenerateContentResponse``: thought parts skipped, text kept in ``usage``; a
    blocked prompt or a safety finish is SAFETY_REFUSAL, an answer with no image another clear error."""
    if not isinstance(payload, dict):
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"{provider} answered without a result", provider=provider)
    usage.add(payload)
    feedback = payload.get("promptFeedback")
    block = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if isinstance(block, str) and block and block != "BLOCKED_REASON_UNSPECIFIED":
        said = feedback.get("blockReasonMessage") if isinstance(feedback, dict) else None
        message = said if isinstance(said, str) and said else f"prompt blocked ({block})"
        raise to_error(provider, UpstreamFailure(200, code=block, message=message, safety=True), secret=secret)
    candidates = payload.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates else None
    if not isinstance(candidate, dict):
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"{provider} answered without a candidate", provider=provider)
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts: list[str] = []
    blobs: list[dict[str, Any]] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("thought") is True:
            continue
        blob = _blob(part)
        if blob is not None:
            blobs.append(blob)
        elif isinstance(part.get("text"), str) and part["text"].strip():
            texts.append(part["text"].strip())
    usage.notes.extend(texts)
    finish = candidate.get("finishReason")
    said = candidate.get("finishMessage")
    if finish in SAFETY_REASONS:
        message = said if isinstance(said, str) and said else " ".join(texts) or f"image withheld ({finish})"
        raise to_error(provider, UpstreamFailure(200, code=str(finish), message=message, safety=True), secret=secret)
    if blobs:
        return decode_image(provider, blobs[0]["data"])
    reason = str(finish) if isinstance(finish, str) and finish else "NO_IMAGE"
    explained = redact(" ".join(texts), secret)
    raise PixelmillError(
        errors.UPSTREAM_UNAVAILABLE,
        f"{provider} answered without an image (finish reason {reason})" + (f": {explained}" if explained else ""),
        provider=provider,
        upstream_code=reason,
    )


class GenerateContentImages(UpstreamAdapter):
    """Image generation and edits through ``generateContent``, shared by the Gemini API and Vertex AI
    adapters; a subclass says where a model's route is and how a call is authorised."""

    id: str

    def __init__(self, config: UpstreamConfig) -> None:
        super().__init__(config, read_error)

    def _route(self, spec: GeminiModel) -> str:
        raise NotImplementedError

    async def _auth_headers(self) -> dict[str, str]:
        """Headers a call needs beyond the client's own (Vertex's short-lived bearer token)."""
        return {}

    def models(self) -> list[ModelInfo]:
        return [model_info(self.id, spec) for spec in MODELS.values()]

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        spec = model_spec(self.id, model)
        if not 1 <= request.n <= MAX_IMAGES:
            raise PixelmillError(errors.INVALID_INPUT, f"{model} makes 1 to {MAX_IMAGES} images", field="n")
        images = [png_bytes(image) for image in request.reference_images]
        body = request_body(spec, request.prompt, images, size=(request.width, request.height), keep_ratio=False)
        return await self._images(spec, body, request.n, request.usage)

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        spec = model_spec(self.id, model)
        body = request_body(spec, request.prompt, [png_bytes(request.image)], size=request.image.size, keep_ratio=True)
        return await self._images(spec, body, 1, request.usage)

    async def _images(
        self, spec: GeminiModel, body: dict[str, Any], n: int, report: UsageCallback | None
    ) -> list[Image.Image]:
        usage = Usage(model=spec.name)
        # Every call runs to its end before a failure is raised, so none is left running unawaited.
        outcomes = await asyncio.gather(*(self._one(spec, body, usage) for _ in range(n)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        pictures = [outcome for outcome in outcomes if isinstance(outcome, Image.Image)]
        log.info("%s %s: %d image(s), %s tokens", self.id, usage.model, len(pictures), usage.total_tokens)
        if report is not None:
            report(usage.public(self.id))
        return pictures

    async def _one(self, spec: GeminiModel, body: dict[str, Any], usage: Usage) -> Image.Image:
        call = Call("POST", self._route(spec), json=body, headers=await self._auth_headers())
        response = await self.client.request(call)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return image_of(payload, usage, provider=self.id, secret=self._config.secret)


class GeminiProvider(GenerateContentImages):
    """The ``gemini/*`` image models through the Gemini API; configured when a key is set."""

    id = PROVIDER
    key_env = "GEMINI_API_KEY"

    @classmethod
    def from_settings(cls, settings: Settings) -> GeminiProvider:
        keyless = UpstreamConfig.bearer(PROVIDER, settings.gemini_base_url, None, settings)
        config = dataclasses.replace(keyless, auth_header="x-goog-api-key", auth_template="{key}")
        key = settings.gemini_api_key
        return cls(config.with_key(key.get_secret_value()) if key is not None else config)

    def with_key(self, key: str) -> Self:
        return type(self)(self._config.with_key(key))

    async def check_key(self) -> None:
        await self.client.request(Call("GET", "models"))

    def _route(self, spec: GeminiModel) -> str:
        return f"models/{spec.name}:generateContent"
