"""OpenAI Images API: generations and edits for the gpt-image family and dall-e.

Models are ``openai/<name>``, listed only when a key is configured (``OPENAI_API_KEY``); none is
usable with test keys. The request is built by pure functions from the model's spec, so each model
gets only the parameters it accepts: gpt-image models never get ``response_format`` (they answer
base64 anyway and refuse the parameter), dall-e models always ask for ``b64_json``. Sizes are the
model's own: a requested size the model does not make becomes the allowed size nearest in shape.

``image.generate`` without references calls ``/images/generations``; with references (gpt-image),
``image.edit`` and ``image.inpaint`` call ``/images/edits`` as multipart (``image`` for one file,
``image[]`` for several, optional ``mask``: pixelmill's white-means-repaint mask becomes OpenAI's
transparent-means-edit one). With ``openai_partial_images`` > 0, gpt-image calls stream and every
partial image is reported as progress.

The same adapter serves OpenAI's chat models to ``text.generate`` (streamed chat completions,
``openai_text``) and its speech models to ``audio.speech`` (``/audio/speech``, ``openai_speech``).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import (
    Capability,
    ChatImage,
    ImageToImageRequest,
    InpaintRequest,
    MediaResult,
    ModelInfo,
    ProgressCallback,
    SpeechRequest,
    TextToImageRequest,
    UsageCallback,
)
from pixelmill.providers.openai_speech import MODELS as SPEECH_MODELS
from pixelmill.providers.openai_speech import audio_result, speech_body
from pixelmill.providers.openai_speech import model_info as speech_model_info
from pixelmill.providers.openai_text import OPENAI_CHAT_MODELS, chat_body, chat_model_info, stream_chat
from pixelmill.providers.upstream.client import Call, UpstreamAdapter, UpstreamConfig
from pixelmill.providers.upstream.failures import UpstreamFailure, to_error
from pixelmill.providers.upstream.sse import json_events

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "openai"
SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")


@dataclass(frozen=True, slots=True)
class OpenAIModel:
    """What one OpenAI image model accepts."""

    name: str
    description: str
    sizes: tuple[str, ...]
    max_images: int
    max_prompt_chars: int
    gpt_image: bool  # base64 always, no response_format, streaming and several input images
    edits: bool  # /images/edits takes it
    max_reference_images: int  # input images of an edit beyond the first (image.generate references)
    cost: int = 5  # credits per image shown in the catalogue


MODELS: dict[str, OpenAIModel] = {
    spec.name: spec
    for spec in (
        OpenAIModel(
            "gpt-image-1",
            "OpenAI GPT Image 1: text to image, edits with up to 16 input images and a mask",
            GPT_IMAGE_SIZES,
            max_images=8,
            max_prompt_chars=32000,
            gpt_image=True,
            edits=True,
            max_reference_images=8,
        ),
        OpenAIModel(
            "gpt-image-1-mini",
            "OpenAI GPT Image 1 mini: cheaper GPT Image, the same parameters",
            GPT_IMAGE_SIZES,
            max_images=8,
            max_prompt_chars=32000,
            gpt_image=True,
            edits=True,
            max_reference_images=8,
        ),
        OpenAIModel(
            "dall-e-3",
            "OpenAI DALL-E 3: text to image, one image per call, no edits",
            ("1024x1024", "1792x1024", "1024x1792"),
            max_images=1,
            max_prompt_chars=4000,
            gpt_image=False,
            edits=False,
            max_reference_images=0,
        ),
        OpenAIModel(
            "dall-e-2",
            "OpenAI DALL-E 2: text to image and masked edits of one square PNG",
            ("256x256", "512x512", "1024x1024"),
            max_images=8,
            max_prompt_chars=1000,
            gpt_image=False,
            edits=True,
            max_reference_images=0,
        ),
    )
}


def model_spec(model_id: str) -> OpenAIModel:
    """The spec of ``openai/<name>``; an id this adapter does not serve is INVALID_INPUT."""
    spec = MODELS.get(model_id.removeprefix(f"{PROVIDER}/"))
    if spec is None or not model_id.startswith(f"{PROVIDER}/"):
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown model {model_id!r}", field="model", model=model_id)
    return spec


def model_info(spec: OpenAIModel) -> ModelInfo:
    capabilities: tuple[Capability, ...] = ("text-to-image",)
    if spec.edits:
        capabilities += ("image-to-image", "inpainting")
    return ModelInfo(
        id=f"{PROVIDER}/{spec.name}",
        provider=PROVIDER,
        generation_type="image",
        capabilities=capabilities,
        cost=spec.cost,
        description=spec.description,
        sandbox=False,
        limits={
            "sizes": list(spec.sizes),
            "max_images": spec.max_images,
            "max_reference_images": spec.max_reference_images,
            "mask": spec.edits,
            "max_prompt_chars": spec.max_prompt_chars,
        },
    )


def choose_size(spec: OpenAIModel, width: int, height: int) -> str:
    """``WxH`` when the model makes it, else the model's size nearest in aspect ratio, then in long side
    (a 1024-pixel 16:9 request to dall-e-2 gets 1024x1024, not the smaller square nearer in area)."""
    wanted = f"{width}x{height}"
    if wanted in spec.sizes:
        return wanted

    def distance(size: str) -> tuple[float, int]:
        w, h = (int(part) for part in size.split("x"))
        return abs(w / h - width / height), abs(max(w, h) - max(width, height))

    return min(spec.sizes, key=distance)


def check_prompt(spec: OpenAIModel, prompt: str) -> None:
    if len(prompt) > spec.max_prompt_chars:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"openai/{spec.name} takes prompts of at most {spec.max_prompt_chars} characters",
            field="prompt",
        )


def generation_body(spec: OpenAIModel, prompt: str, size: str, n: int, *, partial_images: int) -> dict[str, Any]:
    """The JSON of ``POST /images/generations`` for ``spec``: only parameters the model accepts."""
    body: dict[str, Any] = {"model": spec.name, "prompt": prompt, "n": n, "size": size}
    if spec.gpt_image:
        if partial_images > 0:
            body["stream"] = True
            body["partial_images"] = partial_images
    else:
        body["response_format"] = "b64_json"
    return body


Files = list[tuple[str, tuple[str, bytes, str]]]


def edit_form(
    spec: OpenAIModel,
    prompt: str,
    size: str,
    n: int,
    images: list[bytes],
    mask: bytes | None,
    *,
    partial_images: int,
) -> tuple[dict[str, str], Files]:
    """The multipart fields and files of ``POST /images/edits``: one input image as ``image``,
    several as repeated ``image[]``, and the mask (PNG, transparent where to edit)."""
    if not spec.edits:
        raise PixelmillError(errors.INVALID_INPUT, f"openai/{spec.name} cannot edit images", field="model")
    if not images or len(images) > 1 + spec.max_reference_images:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"openai/{spec.name} takes 1 to {1 + spec.max_reference_images} input images",
            field="reference_images",
        )
    data = {"model": spec.name, "prompt": prompt, "n": str(n), "size": size}
    if spec.gpt_image:
        if partial_images > 0:
            data["stream"] = "true"
            data["partial_images"] = str(partial_images)
    else:
        data["response_format"] = "b64_json"
    name = "image" if len(images) == 1 else "image[]"
    files: Files = [(name, (f"image-{index}.png", png, "image/png")) for index, png in enumerate(images)]
    if mask is not None:
        files.append(("mask", ("mask.png", mask, "image/png")))
    return data, files


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def openai_mask(mask: Image.Image, size: tuple[int, int]) -> bytes:
    """pixelmill's mask (white repaints) as OpenAI's: a PNG whose alpha is 0 where the image is edited."""
    grey = mask.convert("L")
    if grey.size != size:
        grey = grey.resize(size)
    rgba = Image.new("RGBA", size, (0, 0, 0, 255))
    rgba.putalpha(ImageOps.invert(grey))
    return png_bytes(rgba)


def read_error(response: httpx.Response, body: bytes) -> UpstreamFailure:
    """An OpenAI error body ``{"error": {message, type, param, code}}`` as an UpstreamFailure."""
    error: dict[str, Any] = {}
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
    return failure_of(error, response.status_code, response.headers.get("x-request-id"))


def failure_of(error: dict[str, Any], status: int, request_id: str | None = None) -> UpstreamFailure:
    code = error.get("code")
    code_text = str(code) if code is not None and code != "" else None
    param = error.get("param")
    message = error.get("message")
    return UpstreamFailure(
        status=status,
        code=code_text,
        param=param if isinstance(param, str) and param else None,
        message=message if isinstance(message, str) else "",
        safety=code_text in SAFETY_CODES or error.get("type") == "image_generation_user_error",
        request_id=request_id,
    )


def decode_image(b64: Any) -> Image.Image:
    """One base64 image from the upstream, decoded and loaded; anything else is UPSTREAM_UNAVAILABLE."""
    try:
        image = Image.open(io.BytesIO(base64.b64decode(str(b64), validate=True)))
        image.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE, "openai answered with an image that could not be decoded", provider=PROVIDER
        ) from None
    return image


PREVIEW_SIDE = 96  # pixels on the long side of a partial image's preview in node_progress


def preview_uri(image: Image.Image) -> str:
    """A small JPEG ``data:`` URI of ``image`` (a few kB), for a progress event."""
    small = image.convert("RGB")
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass
class Usage:
    """What the upstream reported about one call (logged; see the README for what is recorded)."""

    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    revised_prompts: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What a run read shows: the provider, the model used, and whatever the upstream reported."""
        shown: dict[str, Any] = {"provider": PROVIDER, "model": self.model}
        for name in ("input_tokens", "output_tokens", "total_tokens"):
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        if self.revised_prompts:
            shown["revised_prompt"] = self.revised_prompts[0]
        return shown

    def add(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for name in ("input_tokens", "output_tokens", "total_tokens"):
                value = usage.get(name)
                if isinstance(value, int):
                    setattr(self, name, (getattr(self, name) or 0) + value)


def images_of(payload: Any, usage: Usage) -> list[Image.Image]:
    """The images of a non-streamed ``ImagesResponse``; usage and revised prompts go to ``usage``."""
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "openai answered without images", provider=PROVIDER)
    usage.add(payload.get("usage"))
    pictures = []
    for item in items:
        if not isinstance(item, dict) or not item.get("b64_json"):
            raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, "openai answered without image data", provider=PROVIDER)
        if isinstance(item.get("revised_prompt"), str):
            usage.revised_prompts.append(item["revised_prompt"])
        pictures.append(decode_image(item["b64_json"]))
    return pictures


class OpenAIProvider(UpstreamAdapter):
    """The ``openai/*`` image, text and speech models; configured when a key is set."""

    id = PROVIDER
    key_env = "OPENAI_API_KEY"

    def __init__(self, config: UpstreamConfig, *, partial_images: int = 0) -> None:
        super().__init__(config, read_error)
        self._partial_images = partial_images

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIProvider:
        config = UpstreamConfig.bearer(PROVIDER, settings.openai_base_url, settings.openai_api_key, settings)
        return cls(config, partial_images=settings.openai_partial_images)

    def with_key(self, key: str) -> Self:
        return type(self)(self._config.with_key(key), partial_images=self._partial_images)

    async def check_key(self) -> None:
        await self.client.request(Call("GET", "models"))

    def models(self) -> list[ModelInfo]:
        images = [model_info(spec) for spec in MODELS.values()]
        chats = [
            chat_model_info(
                f"{PROVIDER}/{spec.name}",
                PROVIDER,
                spec.description,
                spec.max_output_tokens,
                spec.cost,
                vision=spec.vision,
            )
            for spec in OPENAI_CHAT_MODELS.values()
        ]
        voices = [speech_model_info(spec, PROVIDER) for spec in SPEECH_MODELS.values()]
        return images + chats + voices

    async def generate(
        self,
        model: str,
        prompt: str,
        system: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        *,
        progress: ProgressCallback | None = None,
        usage: UsageCallback | None = None,
        images: Sequence[ChatImage] = (),
    ) -> str:
        """Chat completions, streamed (see ``openai_text``); ``images`` as image parts of the prompt."""
        spec = OPENAI_CHAT_MODELS.get(model.removeprefix(f"{PROVIDER}/"))
        if spec is None or not model.startswith(f"{PROVIDER}/"):
            raise PixelmillError(errors.INVALID_INPUT, f"Unknown text model {model!r}", field="model", model=model)
        if max_tokens > spec.max_output_tokens:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"{model} writes at most {spec.max_output_tokens} tokens",
                field="max_tokens",
                model=model,
            )
        if images and not spec.vision:
            raise PixelmillError(errors.INVALID_INPUT, f"{model} reads no images", field="images", model=model)
        body = chat_body(
            spec.name, prompt, system, max_tokens, temperature, seed, limit_name=spec.limit_name, images=images
        )
        return await stream_chat(self.client, body, read_failure=failure_of, progress=progress, usage=usage)

    async def speech(self, model: str, request: SpeechRequest) -> MediaResult:
        """``POST /audio/speech``; the answer is the audio itself (see ``openai_speech``)."""
        spec = SPEECH_MODELS.get(model.removeprefix(f"{PROVIDER}/"))
        if spec is None or not model.startswith(f"{PROVIDER}/"):
            raise PixelmillError(errors.INVALID_INPUT, f"Unknown speech model {model!r}", field="model", model=model)
        body = speech_body(spec, request)
        call = Call("POST", "audio/speech", json=body, headers={"Accept": "application/octet-stream"})
        response = await self.client.request(call)
        result = audio_result(response.content, request.format, PROVIDER)
        log.info("openai %s: %d bytes of %s speech", spec.name, len(result.data), request.format)
        if request.usage is not None:
            request.usage({"provider": PROVIDER, "model": spec.name, "characters": len(request.text)})
        return result

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        spec = model_spec(model)
        check_prompt(spec, request.prompt)
        size = choose_size(spec, request.width, request.height)
        if request.reference_images:
            if len(request.reference_images) > spec.max_reference_images:
                raise PixelmillError(
                    errors.INVALID_INPUT,
                    f"{model} takes at most {spec.max_reference_images} reference images",
                    field="reference_images",
                )
            images = [png_bytes(image) for image in request.reference_images]
            data, files = edit_form(spec, request.prompt, size, request.n, images, None, partial_images=self._partial)
            return await self._call(
                spec, Call("POST", "images/edits", data=data, files=files), request.progress, request.usage
            )
        body = generation_body(spec, request.prompt, size, request.n, partial_images=self._partial)
        return await self._call(spec, Call("POST", "images/generations", json=body), request.progress, request.usage)

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        spec = model_spec(model)
        check_prompt(spec, request.prompt)
        size = choose_size(spec, request.image.width, request.image.height)
        data, files = edit_form(
            spec, request.prompt, size, 1, [png_bytes(request.image)], None, partial_images=self._partial
        )
        return await self._call(
            spec, Call("POST", "images/edits", data=data, files=files), request.progress, request.usage
        )

    async def inpaint(self, model: str, request: InpaintRequest) -> list[Image.Image]:
        spec = model_spec(model)
        check_prompt(spec, request.prompt)
        size = choose_size(spec, request.image.width, request.image.height)
        mask = openai_mask(request.mask, request.image.size)
        data, files = edit_form(
            spec, request.prompt, size, request.n, [png_bytes(request.image)], mask, partial_images=self._partial
        )
        return await self._call(
            spec, Call("POST", "images/edits", data=data, files=files), request.progress, request.usage
        )

    @property
    def _partial(self) -> int:
        return self._partial_images

    async def _call(
        self, spec: OpenAIModel, call: Call, progress: ProgressCallback | None, report: UsageCallback | None
    ) -> list[Image.Image]:
        usage = Usage(model=spec.name)
        streamed = (call.json or {}).get("stream") is True or (call.data or {}).get("stream") == "true"
        if streamed:
            pictures = await self._streamed(call, usage, progress)
        else:
            response = await self.client.request(call)
            try:
                payload = response.json()
            except ValueError:
                payload = None
            pictures = images_of(payload, usage)
        log.info(
            "openai %s: %d image(s), tokens in %s out %s",
            spec.name,
            len(pictures),
            usage.input_tokens,
            usage.output_tokens,
        )
        if report is not None:
            report(usage.public())
        return pictures

    async def _streamed(self, call: Call, usage: Usage, progress: ProgressCallback | None) -> list[Image.Image]:
        """Read an SSE answer: partial images become progress, completed events the results."""
        pictures: list[Image.Image] = []
        async with self.client.stream(call) as response:
            async for event in json_events(response):
                kind = str(event.get("type", ""))
                if "error" in event or kind == "error":
                    nested = event.get("error")
                    error: dict[str, Any] = nested if isinstance(nested, dict) else event
                    failure = failure_of(error, 400 if error.get("code") in SAFETY_CODES else 502)
                    raise to_error(PROVIDER, failure, secret=self._config.secret)
                if kind.endswith(".partial_image"):
                    index = event.get("partial_image_index", 0)
                    number = index + 1 if isinstance(index, int) else 1
                    if progress is not None:
                        fraction = min(0.85, 0.1 + 0.75 * number / max(1, self._partial_images))
                        preview = preview_uri(decode_image(event.get("b64_json")))
                        progress(fraction, f"partial image {number} of {self._partial_images}", preview=preview)
                elif kind.endswith(".completed"):
                    usage.add(event.get("usage"))
                    pictures.append(decode_image(event.get("b64_json")))
        if not pictures:
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE, "openai's stream ended without an image", provider=PROVIDER
            )
        return pictures
