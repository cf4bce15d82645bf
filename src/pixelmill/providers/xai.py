"""xAI Images API: generations and edits with the Grok Imagine image models.

Models are ``xai/<name>``, listed only when a key is configured (``XAI_API_KEY``); none is usable
with test keys. xAI speaks JSON only, edits included: one input image goes as ``image: {url}``,
several as ``images: [{url}, ...]``, each a ``data:`` URI, and a mask as ``mask: {url}``. xAI takes
no ``size``: a requested width and height become its ``aspect_ratio`` (the nearest one it makes) and
``resolution`` (``1k`` or ``2k``, whichever is nearer in pixel count). We always ask for
``b64_json`` (older answers put a ``data:image/...;base64,`` prefix on it, which is cut off), so no
image has to be fetched from a temporary URL.

Refusals come in three shapes: an item with ``respect_moderation: false``, an empty ``data`` with a
``block_reason``, and an HTTP 400 whose message names content moderation; all are SAFETY_REFUSAL.
xAI's own error body is ``{"code": "...", "error": "..."}`` and a bad key is an HTTP 400 ("Incorrect
API key provided"), which is UPSTREAM_AUTH_FAILED; the OpenAI-shaped body is read too. Video
(``xai/grok-imagine-video``) is in :mod:`pixelmill.providers.xai_video`. Image calls are paced at
xAI's documented 5 a second, video starts at 1 a second (setting ``upstream_rate_limits``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import httpx
from PIL import Image, UnidentifiedImageError

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers import xai_video
from pixelmill.providers.base import (
    ImageToImageRequest,
    InpaintRequest,
    MediaResult,
    ModelInfo,
    TextToImageRequest,
    UsageCallback,
    VideoRequest,
)
from pixelmill.providers.openai import png_bytes
from pixelmill.providers.upstream.client import Call, UpstreamAdapter, UpstreamConfig
from pixelmill.providers.upstream.failures import UpstreamFailure, to_error

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "xai"
# The aspect ratios xAI makes ("auto" aside), as written on the wire.
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9", "1:2", "2:1")
# Pixels of a 1k and a 2k image; a request nearer (by ratio) to the second gets 2k.
PIXELS_1K = 1024 * 1024
PIXELS_2K = 2048 * 2048
MAX_IMAGES = 10
MAX_INPUT_IMAGES = 3  # third-party docs: about three images per edit
AUTH_MARKERS = ("incorrect api key", "invalid api key", "no api key")
# xAI's documented per-second limits for every tier; the operator may change them (upstream_rate_limits).
RATES = {"image": 5.0, "video": 1.0}
SAFETY_MARKERS = ("moderation", "content policy", "safety")


@dataclass(frozen=True, slots=True)
class XAIModel:
    """One xAI image model as the catalogue shows it."""

    name: str
    description: str
    cost: int = 5  # credits per image: the image nodes' own price until the operator sets model_credit_costs


MODELS: dict[str, XAIModel] = {
    spec.name: spec
    for spec in (
        XAIModel("grok-imagine-image", "xAI Grok Imagine: text to image and edits with up to 3 input images"),
        XAIModel("grok-imagine-image-quality", "xAI Grok Imagine, quality tier: the same parameters"),
    )
}


def model_spec(model_id: str) -> XAIModel:
    """The spec of ``xai/<name>``; an id this adapter does not serve is INVALID_INPUT."""
    spec = MODELS.get(model_id.removeprefix(f"{PROVIDER}/"))
    if spec is None or not model_id.startswith(f"{PROVIDER}/"):
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown model {model_id!r}", field="model", model=model_id)
    return spec


def model_info(spec: XAIModel) -> ModelInfo:
    return ModelInfo(
        id=f"{PROVIDER}/{spec.name}",
        provider=PROVIDER,
        generation_type="image",
        capabilities=("text-to-image", "image-to-image", "inpainting"),
        cost=spec.cost,
        description=spec.description,
        sandbox=False,
        limits={
            "aspect_ratios": list(ASPECT_RATIOS),
            "resolutions": ["1k", "2k"],
            "max_images": MAX_IMAGES,
            "max_reference_images": MAX_INPUT_IMAGES,  # image.generate sends them all as edit inputs
            "mask": True,
        },
    )


def _ratio(aspect: str) -> float:
    width, height = aspect.split(":")
    return float(width) / float(height)


def aspect_and_resolution(width: int, height: int) -> tuple[str, str]:
    """xAI's ``aspect_ratio`` and ``resolution`` for a requested ``width`` x ``height``: the aspect ratio
    nearest in log scale (so 2:1 and 1:2 are equally far from 1:1), and 2k when the pixel count is nearer,
    by ratio, to a 2048-square image than to a 1024-square one (1824x1024 stays 1k, 2048x1152 is 2k)."""
    wanted = math.log(width / height)
    aspect = min(ASPECT_RATIOS, key=lambda name: abs(math.log(_ratio(name)) - wanted))
    pixels = width * height
    resolution = "2k" if pixels > math.sqrt(PIXELS_1K * PIXELS_2K) else "1k"
    return aspect, resolution


def data_uri(png: bytes) -> dict[str, str]:
    """An image as xAI's ``{url}`` object holding a PNG ``data:`` URI."""
    return {"url": "data:image/png;base64," + base64.b64encode(png).decode()}


def generation_body(spec: XAIModel, prompt: str, width: int, height: int, n: int) -> dict[str, Any]:
    """The JSON of ``POST /images/generations``: never ``size``, which xAI does not take."""
    aspect, resolution = aspect_and_resolution(width, height)
    return {
        "model": spec.name,
        "prompt": prompt,
        "n": n,
        "response_format": "b64_json",
        "aspect_ratio": aspect,
        "resolution": resolution,
    }


def edit_body(
    spec: XAIModel,
    prompt: str,
    images: list[bytes],
    n: int,
    *,
    size: tuple[int, int],
    keep_ratio: bool,
    mask: bytes | None = None,
) -> dict[str, Any]:
    """The JSON of ``POST /images/edits``: ``image`` for one input, ``images`` for several (the two are
    exclusive), optional ``mask``. With ``keep_ratio`` no ``aspect_ratio`` is sent, so xAI keeps the
    input's own; ``resolution`` always follows ``size``."""
    if not images or len(images) > MAX_INPUT_IMAGES:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"xai/{spec.name} takes 1 to {MAX_INPUT_IMAGES} input images",
            field="reference_images",
        )
    aspect, resolution = aspect_and_resolution(*size)
    body: dict[str, Any] = {"model": spec.name, "prompt": prompt, "n": n, "response_format": "b64_json"}
    if len(images) == 1:
        body["image"] = data_uri(images[0])
    else:
        body["images"] = [data_uri(png) for png in images]
    if mask is not None:
        body["mask"] = data_uri(mask)
    if not keep_ratio:
        body["aspect_ratio"] = aspect
    body["resolution"] = resolution
    return body


def read_error(response: httpx.Response, body: bytes) -> UpstreamFailure:
    """xAI's ``{"code", "error"}`` body, or the OpenAI-shaped ``{"error": {message, type, param, code}}``,
    as an UpstreamFailure; a bad key (an HTTP 400 from xAI) is marked as an auth failure."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    code: Any = None
    param: Any = None
    message: Any = ""
    kind: Any = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            code, param, message, kind = error.get("code"), error.get("param"), error.get("message"), error.get("type")
        else:
            code, message = payload.get("code"), error
    text = message if isinstance(message, str) else ""
    code_text = str(code) if code is not None and code != "" else None
    lowered = f"{text} {code_text or ''}".lower()
    return UpstreamFailure(
        status=response.status_code,
        code=code_text,
        param=param if isinstance(param, str) and param else None,
        message=text,
        safety=any(marker in lowered for marker in SAFETY_MARKERS) or kind == "image_generation_user_error",
        auth=code_text == "invalid_api_key" or any(marker in lowered for marker in AUTH_MARKERS),
        request_id=response.headers.get("x-request-id"),
    )


def decode_b64(value: Any) -> Image.Image:
    """One ``b64_json`` value (with or without a ``data:image/...;base64,`` prefix) as a loaded image."""
    text = str(value)
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        image = Image.open(io.BytesIO(base64.b64decode(text, validate=True)))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE, "xai answered with an image that could not be decoded", provider=PROVIDER
        ) from None
    return image


@dataclass
class Usage:
    """What xAI reported about one call: the cost in its ticks and any revised prompt."""

    model: str
    cost_in_usd_ticks: int | None = None
    revised_prompts: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"provider": PROVIDER, "model": self.model}
        if self.cost_in_usd_ticks is not None:
            shown["cost_in_usd_ticks"] = self.cost_in_usd_ticks
        if self.revised_prompts:
            shown["revised_prompt"] = self.revised_prompts[0]
        return shown


def images_of(payload: Any, usage: Usage, *, secret: str | None = None) -> list[Image.Image]:
    """The images of an xAI images answer; a moderated item or a blocked request is SAFETY_REFUSAL."""
    if not isinstance(payload, dict):
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "xai answered without images", provider=PROVIDER)
    reported = payload.get("usage")
    if isinstance(reported, dict) and isinstance(reported.get("cost_in_usd_ticks"), int):
        usage.cost_in_usd_ticks = reported["cost_in_usd_ticks"]
    if isinstance(payload.get("model"), str) and payload["model"]:
        usage.model = payload["model"]
    items = payload.get("data")
    block = payload.get("block_reason")
    if not items and block:
        refused = UpstreamFailure(200, code=str(block), message=f"request blocked ({block})", safety=True)
        raise to_error(PROVIDER, refused, secret=secret)
    if not isinstance(items, list) or not items:
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "xai answered without images", provider=PROVIDER)
    pictures = []
    for item in items:
        if isinstance(item, dict) and item.get("respect_moderation") is False:
            refused = UpstreamFailure(
                200, code="respect_moderation", message="image did not respect moderation rules", safety=True
            )
            raise to_error(PROVIDER, refused, secret=secret)
        if not isinstance(item, dict) or not item.get("b64_json"):
            raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "xai answered without image data", provider=PROVIDER)
        if isinstance(item.get("revised_prompt"), str) and item["revised_prompt"]:
            usage.revised_prompts.append(item["revised_prompt"])
        pictures.append(decode_b64(item["b64_json"]))
    return pictures


class XAIProvider(UpstreamAdapter):
    """The ``xai/*`` image models; configured when a key is set."""

    id = PROVIDER
    key_env = "XAI_API_KEY"

    def __init__(self, config: UpstreamConfig, *, video_timing: xai_video.VideoTiming | None = None) -> None:
        super().__init__(config, read_error)
        self._video_timing = video_timing or xai_video.VideoTiming(poll_seconds=5.0, timeout_seconds=600.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> XAIProvider:
        config = UpstreamConfig.bearer(PROVIDER, settings.xai_base_url, settings.xai_api_key, settings, rates=RATES)
        timing = xai_video.VideoTiming(settings.xai_video_poll_seconds, settings.xai_video_timeout_seconds)
        return cls(config, video_timing=timing)

    def with_key(self, key: str) -> Self:
        return type(self)(self._config.with_key(key), video_timing=self._video_timing)

    async def check_key(self) -> None:
        await self.client.request(Call("GET", "models"))

    def models(self) -> list[ModelInfo]:
        return [*(model_info(spec) for spec in MODELS.values()), xai_video.video_model_info()]

    async def generate_video(self, model: str, request: VideoRequest) -> MediaResult:
        if model != f"{PROVIDER}/{xai_video.VIDEO_MODEL}":
            raise PixelmillError(errors.INVALID_INPUT, f"Unknown video model {model!r}", field="model", model=model)
        return await xai_video.generate_video(self.client, request, self._video_timing, sleep=asyncio.sleep)

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        spec = model_spec(model)
        if request.reference_images:
            images = [png_bytes(image) for image in request.reference_images]
            size = (request.width, request.height)
            body = edit_body(spec, request.prompt, images, request.n, size=size, keep_ratio=False)
            return await self._call(spec, Call("POST", "images/edits", json=body, rate_class="image"), request.usage)
        body = generation_body(spec, request.prompt, request.width, request.height, request.n)
        return await self._call(spec, Call("POST", "images/generations", json=body, rate_class="image"), request.usage)

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        spec = model_spec(model)
        body = edit_body(spec, request.prompt, [png_bytes(request.image)], 1, size=request.image.size, keep_ratio=True)
        return await self._call(spec, Call("POST", "images/edits", json=body, rate_class="image"), request.usage)

    async def inpaint(self, model: str, request: InpaintRequest) -> list[Image.Image]:
        """The mask goes as it is (white where the image is repainted); xAI's mask format is not documented."""
        spec = model_spec(model)
        mask = request.mask.convert("L")
        if mask.size != request.image.size:
            mask = mask.resize(request.image.size)
        body = edit_body(
            spec,
            request.prompt,
            [png_bytes(request.image)],
            request.n,
            size=request.image.size,
            keep_ratio=True,
            mask=png_bytes(mask),
        )
        return await self._call(spec, Call("POST", "images/edits", json=body, rate_class="image"), request.usage)

    async def _call(self, spec: XAIModel, call: Call, report: UsageCallback | None) -> list[Image.Image]:
        usage = Usage(model=spec.name)
        response = await self.client.request(call)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        pictures = images_of(payload, usage, secret=self._config.secret)
        log.info("xai %s: %d image(s), cost %s ticks", spec.name, len(pictures), usage.cost_in_usd_ticks)
        if report is not None:
            report(usage.public())
        return pictures
