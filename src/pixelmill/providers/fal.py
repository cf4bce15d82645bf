"""fal: any model by name through its queue API.

Model ids are ``fal/<owner>/<app>[/<subpath>]`` (``fal/fal-ai/flux/schnell``). A request is queued
with ``POST {base}/{owner}/{app}[/{subpath}]``, which answers ``request_id``, ``status_url``,
``response_url`` and ``cancel_url``; those URLs (which drop the subpath) are used as given.
``status_url`` is polled until ``COMPLETED``, then ``response_url`` holds the model's output JSON:
``images: [{url, content_type, width, height}]`` or ``video: {url, content_type}``, whose files are
fetched without the key. A run cancelled meanwhile sends ``PUT cancel_url``.

The key goes as ``Authorization: Key <FAL_KEY>``. Errors are ``{"detail": "..."}`` or, for a
validation failure (422), ``{"detail": [{"loc": [...], "msg": ...}]}``, whose field is named; an
answer with ``has_nsfw_concepts`` set is SAFETY_REFUSAL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self

import httpx
from PIL import Image

from pixelmill import errors
from pixelmill.engine.cancellation import RunCancelled
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import (
    CancelCheck,
    Capability,
    ImageToImageRequest,
    MediaResult,
    ModelInfo,
    TextToImageRequest,
    UsageCallback,
    VideoRequest,
)
from pixelmill.providers.hosted import (
    VIDEO_PRICE,
    HostedModel,
    decode_image,
    fetch,
    model_info,
    nearest_aspect_ratio,
    output_urls,
    png_data_uri,
    require_images,
    unknown_model,
)
from pixelmill.providers.upstream.client import Call, UpstreamAdapter, UpstreamConfig
from pixelmill.providers.upstream.failures import UpstreamFailure, to_error

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "fal"
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MODEL_ID = re.compile(rf"^fal/(?P<path>{_SEGMENT}/{_SEGMENT}(?:/{_SEGMENT})*)$")
SAFETY_MARKERS = ("nsfw", "safety", "content policy", "moderation")
# check_key asks the status of a request that does not exist: fal authenticates it first, so a bad key
# is 401/403 and a good one a 404 (any answer but an auth refusal counts as a working key).
KEY_PROBE = "fal-ai/flux/requests/00000000-0000-0000-0000-000000000000/status"

TEXT_AND_EDIT: tuple[Capability, ...] = ("text-to-image", "image-to-image")
LISTED: dict[str, HostedModel] = {
    spec.path: spec
    for spec in (
        HostedModel(
            "fal-ai/flux/schnell",
            "image",
            ("text-to-image",),
            "FLUX.1 [schnell] on fal: fast text to image, up to 4 images",
            image_field=None,
        ),
        HostedModel("fal-ai/flux/dev", "image", ("text-to-image",), "FLUX.1 [dev] on fal", image_field=None),
        HostedModel(
            "fal-ai/flux/dev/image-to-image",
            "image",
            TEXT_AND_EDIT,
            "FLUX.1 [dev] on fal, from an input image",
            image_field="image_url",
        ),
        HostedModel(
            "fal-ai/minimax/video-01",
            "video",
            ("video",),
            "MiniMax Video-01 on fal: text to a 6 s clip",
            image_field=None,
            counts=False,
            cost=VIDEO_PRICE,
        ),
        HostedModel(
            "fal-ai/minimax/video-01/image-to-video",
            "video",
            ("video",),
            "MiniMax Video-01 on fal: a first frame to a 6 s clip",
            image_field="image_url",
            counts=False,
            cost=VIDEO_PRICE,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class FalModel:
    path: str  # "fal-ai/flux/schnell", what is queued
    spec: HostedModel


def parse_model(model_id: str) -> FalModel:
    """The model of ``fal/<owner>/<app>[/<subpath>]``; anything else is INVALID_INPUT."""
    match = MODEL_ID.match(model_id)
    if match is None or any(part in ("..", ".") for part in model_id.split("/")):
        raise unknown_model(model_id)
    path = match.group("path")
    spec = LISTED.get(path) or HostedModel(path, "image", TEXT_AND_EDIT, f"{path} on fal, run by name", "image_url")
    return FalModel(path, spec)


def request_input(
    model: FalModel,
    prompt: str,
    *,
    width: int,
    height: int,
    seed: int,
    n: int = 1,
    image: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The queued JSON: the inputs fal's models share (``image_size`` for images, ``aspect_ratio`` for
    video), the input image as ``image_url``, then the graph's ``options`` merged over them."""
    values: dict[str, Any] = {"prompt": prompt, "seed": seed}
    if model.spec.generation_type == "video":
        values["aspect_ratio"] = nearest_aspect_ratio(width, height)
    else:
        values["image_size"] = {"width": width, "height": height}
    if model.spec.counts:
        values["num_images"] = n
    if image is not None:
        if model.spec.image_field is None:
            raise PixelmillError(
                errors.INVALID_INPUT, f"fal/{model.path} takes no input image", field="reference_images"
            )
        values[model.spec.image_field] = image
    values.update(options or {})
    return values


def read_error(response: httpx.Response, body: bytes) -> UpstreamFailure:
    """fal's ``{"detail": ...}``: a message, or a validation list whose first entry names the field."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    detail = payload.get("detail") if isinstance(payload, dict) else None
    message, param, code = "", None, None
    if isinstance(detail, str):
        message = detail
    elif isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        location = [str(part) for part in first.get("loc") or [] if part != "body"]
        param = ".".join(location) or None
        code = str(first.get("type") or "") or None
        message = f"{param}: {first.get('msg', 'invalid')}" if param else str(first.get("msg", "invalid"))
    return UpstreamFailure(
        status=response.status_code,
        code=code,
        param=param,
        message=message,
        safety=any(marker in message.lower() for marker in SAFETY_MARKERS),
        request_id=response.headers.get("x-fal-request-id"),
    )


def refused(output: dict[str, Any], secret: str | None) -> PixelmillError | None:
    """SAFETY_REFUSAL when the model flagged any output it made (fal's safety checker)."""
    flags = output.get("has_nsfw_concepts")
    if isinstance(flags, list) and any(flag is True for flag in flags):
        failure = UpstreamFailure(200, code="has_nsfw_concepts", message="output flagged as NSFW", safety=True)
        return to_error(PROVIDER, failure, secret=secret)
    return None


def _object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"fal answered without {what}", provider=PROVIDER)
    return payload


class FalProvider(UpstreamAdapter):
    """``fal/*`` models; configured when a key is set."""

    id = PROVIDER
    key_env = "FAL_KEY"

    def __init__(self, config: UpstreamConfig, *, poll_seconds: float = 1.0, job_timeout: float = 900.0) -> None:
        super().__init__(config, read_error)
        self.poll_seconds = poll_seconds
        self.job_timeout = job_timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> FalProvider:
        bearer = UpstreamConfig.bearer(PROVIDER, settings.fal_base_url, settings.fal_key, settings)
        config = dataclasses.replace(
            bearer,
            headers={"Authorization": f"Key {bearer.secret}"} if bearer.secret else {},
            auth_template="Key {key}",
        )
        return cls(config, poll_seconds=settings.fal_poll_seconds, job_timeout=settings.upstream_job_timeout_seconds)

    def with_key(self, key: str) -> Self:
        return type(self)(self._config.with_key(key), poll_seconds=self.poll_seconds, job_timeout=self.job_timeout)

    async def check_key(self) -> None:
        try:
            await self.client.request(Call("GET", KEY_PROBE))
        except PixelmillError as exc:
            if exc.code != errors.UPSTREAM_BAD_REQUEST.code:
                raise

    def models(self) -> list[ModelInfo]:
        return [model_info(PROVIDER, spec) for spec in LISTED.values()]

    def resolve_model(self, model_id: str) -> ModelInfo | None:
        if not model_id.startswith(f"{PROVIDER}/"):
            return None
        try:
            model = parse_model(model_id)
        except PixelmillError:
            return None
        return replace(model_info(PROVIDER, model.spec), id=model_id)

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        parsed = parse_model(model)
        image = png_data_uri(request.reference_images[0]) if request.reference_images else None
        values = request_input(
            parsed,
            request.prompt,
            width=request.width,
            height=request.height,
            seed=request.seed,
            n=request.n,
            image=image,
            options=dict(request.options),
        )
        return await self._images(await self.run(parsed, values, request.cancelled, request.usage))

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        parsed = parse_model(model)
        width, height = request.image.size
        values = request_input(
            parsed, request.prompt, width=width, height=height, seed=request.seed, image=png_data_uri(request.image)
        )
        return await self._images(await self.run(parsed, values, None, request.usage))

    async def generate_video(self, model: str, request: VideoRequest) -> MediaResult:
        parsed = parse_model(model)
        image = png_data_uri(request.image) if request.image is not None else None
        values = request_input(
            parsed,
            request.prompt,
            width=request.width,
            height=request.height,
            seed=request.seed,
            image=image,
            options=dict(request.options),
        )
        output = await self.run(parsed, values, request.cancelled, request.usage)
        video = output.get("video")
        url = require_images(output_urls(video if isinstance(video, dict) else output), PROVIDER)[0]
        data, mime = await fetch(self.client, url, PROVIDER)
        declared = video.get("content_type") if isinstance(video, dict) else None
        if isinstance(declared, str) and declared.startswith("video/"):
            mime = declared
        return MediaResult(data, mime if mime.startswith("video/") else "video/mp4")

    async def run(
        self, model: FalModel, values: dict[str, Any], cancelled: CancelCheck | None, report: UsageCallback | None
    ) -> dict[str, Any]:
        """Queue the request, follow its status to COMPLETED, and return the model's output JSON."""
        queued = _object(await self.client.request(Call("POST", model.path, json=values)), "a queued request")
        request_id = str(queued.get("request_id") or "")
        status_url, response_url = queued.get("status_url"), queued.get("response_url")
        if not request_id or not isinstance(status_url, str) or not isinstance(response_url, str):
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE, "fal answered without a queued request", provider=PROVIDER
            )
        cancel_url = str(queued.get("cancel_url") or f"{response_url}/cancel")
        deadline = time.monotonic() + self.job_timeout
        status = queued
        while status.get("status") != "COMPLETED":
            if cancelled is not None and cancelled():
                await self._cancel(cancel_url, request_id)
                raise RunCancelled
            if time.monotonic() > deadline:
                await self._cancel(cancel_url, request_id)
                raise PixelmillError(
                    errors.UPSTREAM_TIMEOUT,
                    f"fal request {request_id} did not finish in {self.job_timeout:g} s",
                    provider=PROVIDER,
                )
            await asyncio.sleep(self.poll_seconds)
            status = _object(await self.client.request(Call("GET", status_url)), "a request status")
        output = _object(await self.client.request(Call("GET", response_url)), "an output")
        log.info("fal %s: request %s completed", model.path, request_id)
        if report is not None:
            usage: dict[str, Any] = {"provider": PROVIDER, "model": model.path, "request_id": request_id}
            metrics = status.get("metrics")
            if isinstance(metrics, dict) and isinstance(metrics.get("inference_time"), int | float):
                usage["inference_time"] = metrics["inference_time"]
            report(usage)
        problem = refused(output, self._config.secret)
        if problem is not None:
            raise problem
        return output

    async def _cancel(self, cancel_url: str, request_id: str) -> None:
        """Ask fal to drop the request; a failure to ask is logged, the run is cancelled anyway."""
        try:
            await self.client.request(Call("PUT", cancel_url))
        except PixelmillError as exc:
            log.warning("fal: cancelling request %s failed (%s)", request_id, exc.code)

    async def _images(self, output: dict[str, Any]) -> list[Image.Image]:
        images = output.get("images")
        urls = require_images(output_urls(images if images is not None else output), PROVIDER)
        fetched = await asyncio.gather(*(fetch(self.client, url, PROVIDER) for url in urls))
        return [decode_image(data, PROVIDER) for data, _ in fetched]
