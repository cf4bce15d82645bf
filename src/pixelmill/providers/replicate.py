"""Replicate: any model by name through its predictions API.

Model ids are ``replicate/<owner>/<name>`` (an official model: ``POST /models/{owner}/{name}/predictions``)
or ``replicate/<owner>/<name>:<version>`` (``POST /predictions`` with the version). A few well-known
models are listed with their capabilities; any other well-formed id runs as an image model. A
prediction is created with ``Prefer: wait=N``, so a fast model answers finished in the same call;
otherwise ``GET /predictions/{id}`` is polled until it succeeds, fails or is cancelled. A run
cancelled meanwhile cancels the prediction (``POST /predictions/{id}/cancel``), so it stops costing.

Outputs are URLs (or ``data:`` URIs), one or a list, fetched without the key. Errors are RFC 7807
bodies (``title``, ``detail``, ``status``); a failed prediction's ``error`` naming NSFW or safety is
SAFETY_REFUSAL. Usage reports the prediction id, model, version and ``metrics.predict_time``.
"""

from __future__ import annotations

import asyncio
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
from pixelmill.providers.upstream.failures import UpstreamFailure, redact, to_error

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "replicate"
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MODEL_ID = re.compile(rf"^replicate/(?P<owner>{_NAME})/(?P<name>{_NAME})(?::(?P<version>[A-Za-z0-9]{{1,128}}))?$")
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
SAFETY_MARKERS = ("nsfw", "safety", "sensitive content", "content policy", "flagged")
INPUT_MARKERS = ("invalid", "validation", "must be", "expected", "not supported", "unsupported")
FIELD_IN_DETAIL = re.compile(r"input\.([A-Za-z0-9_]+)")

TEXT_AND_EDIT: tuple[Capability, ...] = ("text-to-image", "image-to-image")
LISTED: dict[str, HostedModel] = {
    spec.path: spec
    for spec in (
        HostedModel(
            "black-forest-labs/flux-schnell",
            "image",
            ("text-to-image",),
            "FLUX.1 [schnell] on Replicate: fast text to image, up to 4 images",
            image_field=None,
        ),
        HostedModel("black-forest-labs/flux-dev", "image", TEXT_AND_EDIT, "FLUX.1 [dev] on Replicate"),
        HostedModel(
            "black-forest-labs/flux-1.1-pro",
            "image",
            TEXT_AND_EDIT,
            "FLUX1.1 [pro] on Replicate; an input image guides the composition",
            image_field="image_prompt",
            counts=False,
        ),
        HostedModel(
            "black-forest-labs/flux-kontext-pro",
            "image",
            TEXT_AND_EDIT,
            "FLUX.1 Kontext [pro] on Replicate: edits an input image by instruction",
            image_field="input_image",
            counts=False,
        ),
        HostedModel(
            "minimax/video-01",
            "video",
            ("video",),
            "MiniMax Video-01 on Replicate: text or a first frame to a 6 s clip",
            image_field="first_frame_image",
            counts=False,
            cost=VIDEO_PRICE,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ReplicateModel:
    """A parsed model id: which prediction route it takes and how its inputs are spelled."""

    owner: str
    name: str
    version: str | None
    spec: HostedModel

    @property
    def path(self) -> str:
        return "predictions" if self.version else f"models/{self.owner}/{self.name}/predictions"

    @property
    def label(self) -> str:
        return f"{self.owner}/{self.name}" + (f":{self.version}" if self.version else "")


def parse_model(model_id: str) -> ReplicateModel:
    """The model of ``replicate/<owner>/<name>[:<version>]``; anything else is INVALID_INPUT."""
    match = MODEL_ID.match(model_id)
    if match is None or ".." in model_id:
        raise unknown_model(model_id)
    owner, name = match.group("owner"), match.group("name")
    spec = LISTED.get(f"{owner}/{name}") or HostedModel(
        f"{owner}/{name}", "image", TEXT_AND_EDIT, f"{owner}/{name} on Replicate, run by name"
    )
    return ReplicateModel(owner, name, match.group("version"), spec)


def prediction_input(
    model: ReplicateModel,
    prompt: str,
    *,
    width: int,
    height: int,
    seed: int,
    n: int = 1,
    image: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A prediction's ``input``: the inputs image models share, the input image under the name the
    model takes, then the graph's ``options`` merged over them as they are."""
    values: dict[str, Any] = {"prompt": prompt, "seed": seed, "aspect_ratio": nearest_aspect_ratio(width, height)}
    if model.spec.counts:
        values["num_outputs"] = n
    if image is not None:
        if model.spec.image_field is None:
            raise PixelmillError(
                errors.INVALID_INPUT, f"replicate/{model.label} takes no input image", field="reference_images"
            )
        values[model.spec.image_field] = image
    values.update(options or {})
    return values


def prediction_body(model: ReplicateModel, values: dict[str, Any]) -> dict[str, Any]:
    """``{"input": ...}``, with the version for a versioned id (which goes to ``POST /predictions``)."""
    return {"version": model.version, "input": values} if model.version else {"input": values}


def read_error(response: httpx.Response, body: bytes) -> UpstreamFailure:
    """An RFC 7807 body (``type``, ``title``, ``status``, ``detail``) as an UpstreamFailure; a
    validation detail naming ``input.<field>`` names that field."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    title = detail = kind = ""
    if isinstance(payload, dict):
        title = str(payload.get("title") or "")
        detail = str(payload.get("detail") or "")
        kind = str(payload.get("type") or "")
    message = detail or title
    found = FIELD_IN_DETAIL.search(detail)
    return UpstreamFailure(
        status=response.status_code,
        code=title or kind or None,
        param=found.group(1) if found else None,
        message=message,
        safety=any(marker in message.lower() for marker in SAFETY_MARKERS),
        request_id=response.headers.get("x-request-id"),
    )


def failed_prediction(prediction: dict[str, Any], secret: str | None) -> PixelmillError:
    """A prediction that ended ``failed``: a safety refusal when its error says so, a bad request when
    the model refused its input, else the upstream failing."""
    text = str(prediction.get("error") or "the prediction failed")
    lowered = text.lower()
    if any(marker in lowered for marker in SAFETY_MARKERS):
        return to_error(
            PROVIDER, UpstreamFailure(200, code="prediction_failed", message=text, safety=True), secret=secret
        )
    code = errors.UPSTREAM_BAD_REQUEST if any(m in lowered for m in INPUT_MARKERS) else errors.UPSTREAM_UNAVAILABLE
    return PixelmillError(
        code,
        f"{PROVIDER}: {redact(text, secret)}",
        provider=PROVIDER,
        upstream_code="prediction_failed",
        prediction_id=str(prediction.get("id") or ""),
    )


def usage_of(prediction: dict[str, Any], model: ReplicateModel) -> dict[str, Any]:
    """What Replicate reported: the prediction, the model and version it ran, and its predict time."""
    shown: dict[str, Any] = {"provider": PROVIDER, "model": str(prediction.get("model") or model.label)}
    for key in ("version", "id"):
        if isinstance(prediction.get(key), str) and prediction[key]:
            shown["prediction_id" if key == "id" else key] = prediction[key]
    metrics = prediction.get("metrics")
    if isinstance(metrics, dict) and isinstance(metrics.get("predict_time"), int | float):
        shown["predict_time"] = metrics["predict_time"]
    return shown


def _prediction(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "replicate answered without a prediction", provider=PROVIDER)
    return payload


class ReplicateProvider(UpstreamAdapter):
    """``replicate/*`` models; configured when a token is set."""

    id = PROVIDER
    key_env = "REPLICATE_API_TOKEN"

    def __init__(
        self, config: UpstreamConfig, *, wait_seconds: int = 60, poll_seconds: float = 1.0, job_timeout: float = 900.0
    ) -> None:
        super().__init__(config, read_error)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.job_timeout = job_timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplicateProvider:
        config = UpstreamConfig.bearer(PROVIDER, settings.replicate_base_url, settings.replicate_api_token, settings)
        return cls(
            config,
            wait_seconds=settings.replicate_wait_seconds,
            poll_seconds=settings.replicate_poll_seconds,
            job_timeout=settings.upstream_job_timeout_seconds,
        )

    def with_key(self, key: str) -> Self:
        return type(self)(
            self._config.with_key(key),
            wait_seconds=self.wait_seconds,
            poll_seconds=self.poll_seconds,
            job_timeout=self.job_timeout,
        )

    async def check_key(self) -> None:
        await self.client.request(Call("GET", "account"))

    def models(self) -> list[ModelInfo]:
        return [model_info(PROVIDER, spec) for spec in LISTED.values()]

    def resolve_model(self, model_id: str) -> ModelInfo | None:
        if not model_id.startswith(f"{PROVIDER}/"):
            return None
        try:
            model = parse_model(model_id)
        except PixelmillError:
            return None
        # A versioned id keeps its version in the entry's id, so prices and checks see the id as asked.
        return replace(model_info(PROVIDER, model.spec), id=model_id)

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        parsed = parse_model(model)
        image = png_data_uri(request.reference_images[0]) if request.reference_images else None
        values = prediction_input(
            parsed,
            request.prompt,
            width=request.width,
            height=request.height,
            seed=request.seed,
            n=request.n,
            image=image,
            options=dict(request.options),
        )
        prediction = await self.predict(parsed, values, request.cancelled, request.usage)
        return await self._images(prediction)

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        parsed = parse_model(model)
        width, height = request.image.size
        values = prediction_input(
            parsed, request.prompt, width=width, height=height, seed=request.seed, image=png_data_uri(request.image)
        )
        prediction = await self.predict(parsed, values, None, request.usage)
        return await self._images(prediction)

    async def generate_video(self, model: str, request: VideoRequest) -> MediaResult:
        parsed = parse_model(model)
        image = png_data_uri(request.image) if request.image is not None else None
        values = prediction_input(
            parsed,
            request.prompt,
            width=request.width,
            height=request.height,
            seed=request.seed,
            image=image,
            options=dict(request.options),
        )
        prediction = await self.predict(parsed, values, request.cancelled, request.usage)
        url = require_images(output_urls(prediction.get("output")), PROVIDER)[0]
        data, mime = await fetch(self.client, url, PROVIDER)
        return MediaResult(data, mime if mime.startswith("video/") else "video/mp4")

    async def predict(
        self,
        model: ReplicateModel,
        values: dict[str, Any],
        cancelled: CancelCheck | None,
        report: UsageCallback | None,
    ) -> dict[str, Any]:
        """Create the prediction and follow it to its end; the succeeded prediction."""
        headers = {"Prefer": f"wait={self.wait_seconds}"}
        call = Call("POST", model.path, json=prediction_body(model, values), headers=headers)
        prediction = _prediction(await self.client.request(call))
        deadline = time.monotonic() + self.job_timeout
        while prediction.get("status") not in TERMINAL:
            if cancelled is not None and cancelled():
                await self._cancel(prediction["id"])
                raise RunCancelled
            if time.monotonic() > deadline:
                await self._cancel(prediction["id"])
                raise PixelmillError(
                    errors.UPSTREAM_TIMEOUT,
                    f"replicate prediction {prediction['id']} did not finish in {self.job_timeout:g} s",
                    provider=PROVIDER,
                )
            await asyncio.sleep(self.poll_seconds)
            prediction = _prediction(await self.client.request(Call("GET", f"predictions/{prediction['id']}")))
        log.info("replicate %s: prediction %s %s", model.label, prediction["id"], prediction["status"])
        if report is not None:
            report(usage_of(prediction, model))
        if prediction["status"] == "failed":
            raise failed_prediction(prediction, self._config.secret)
        if prediction["status"] == "canceled":
            if cancelled is not None and cancelled():
                raise RunCancelled
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE, f"replicate prediction {prediction['id']} was canceled", provider=PROVIDER
            )
        return prediction

    async def _cancel(self, prediction_id: str) -> None:
        """Ask Replicate to stop the prediction; a failure to ask is logged, the run is cancelled anyway."""
        try:
            await self.client.request(Call("POST", f"predictions/{prediction_id}/cancel"))
        except PixelmillError as exc:
            log.warning("replicate: cancelling prediction %s failed (%s)", prediction_id, exc.code)

    async def _images(self, prediction: dict[str, Any]) -> list[Image.Image]:
        urls = require_images(output_urls(prediction.get("output")), PROVIDER)
        fetched = await asyncio.gather(*(fetch(self.client, url, PROVIDER) for url in urls))
        return [decode_image(data, PROVIDER) for data, _ in fetched]
