"""``openai-compatible/<name>``: any server that speaks OpenAI's API at a base URL the operator sets
(Ollama, vLLM, LM Studio, LocalAI, another OpenAI-compatible gateway).

Text goes through the same streamed chat completions as OpenAI's own models (``openai_text``),
with ``max_tokens`` (what these servers know). Images go through ``/images/generations`` with the
minimal dall-e-2-like parameters (``model``, ``prompt``, ``n``, ``size``, ``response_format:
b64_json``) built by ``openai.py``'s functions, for the models the operator marks as image models:
nothing in the API says whether a server draws, so it is never guessed.

Which models exist: ``openai_compatible_models`` names the text models; when it is empty, the
server's own ``GET /models`` is asked once when the registry is built (a short blocking call at
startup) and every model it lists, other than the marked image models, is a text model. A server
that cannot be reached then lists no text models until the next start; naming them avoids that.
The key is optional (``openai_compatible_api_key``, sent as ``Authorization: Bearer``): Ollama and
LM Studio take none, vLLM may. There is no upstream environment variable for it (``key_env`` is "").
Which text models read images (``vision`` in the catalogue, image parts sent with the prompt) is
the operator's word too (``openai_compatible_vision_models``): a server does not say.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

import httpx
from PIL import Image

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ChatImage, ModelInfo, ProgressCallback, TextToImageRequest, UsageCallback
from pixelmill.providers.openai import (
    OpenAIModel,
    Usage,
    check_prompt,
    choose_size,
    failure_of,
    generation_body,
    images_of,
    read_error,
)
from pixelmill.providers.openai_text import chat_body, chat_model_info, stream_chat
from pixelmill.providers.upstream.client import Call, UpstreamAdapter, UpstreamConfig

if TYPE_CHECKING:
    from pixelmill.config import Settings

log = logging.getLogger(__name__)

PROVIDER = "openai-compatible"
MAX_OUTPUT_TOKENS = 32768  # the server enforces its model's own limit; this is text.generate's
IMAGE_SIZES = ("256x256", "512x512", "1024x1024", "1536x1024", "1024x1536")
IMAGE_COST = 5  # the image.generate price
TEXT_COST = 2  # the text.generate price
DISCOVERY_TIMEOUT_SECONDS = 5.0


def image_spec(name: str) -> OpenAIModel:
    """What a marked image model is sent: the parameters every Images API implementation knows."""
    return OpenAIModel(
        name,
        f"{name} on the OpenAI-compatible server: text to image through /images/generations",
        IMAGE_SIZES,
        max_images=4,
        max_prompt_chars=4000,
        gpt_image=False,
        edits=False,
        max_reference_images=0,
        cost=IMAGE_COST,
    )


def model_names(payload: Any) -> list[str]:
    """The ids of a ``GET /models`` answer (``{"object": "list", "data": [{"id": …}]}``), in order."""
    data = payload.get("data") if isinstance(payload, dict) else None
    names = [item["id"] for item in data or [] if isinstance(item, dict) and isinstance(item.get("id"), str)]
    return list(dict.fromkeys(name for name in names if name))


def discover_models(config: UpstreamConfig) -> list[str]:
    """The server's model ids, asked once, synchronously (the registry is built outside any loop's
    hot path, at startup); an unreachable or refusing server lists none, with a warning."""
    try:
        with httpx.Client(
            base_url=config.base_url, headers=dict(config.headers), timeout=DISCOVERY_TIMEOUT_SECONDS, trust_env=False
        ) as client:
            response = client.get("models")
            response.raise_for_status()
            return model_names(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("%s: could not list the server's models (%s); none listed", PROVIDER, type(exc).__name__)
        return []


class OpenAICompatibleProvider(UpstreamAdapter):
    """Text (and marked image) models of one OpenAI-compatible server; see the module docstring."""

    id = PROVIDER
    key_env = ""  # no upstream convention: the key is a pixelmill setting or comes through the API

    def __init__(
        self,
        config: UpstreamConfig,
        text_models: list[str],
        image_models: list[str],
        vision_models: Iterable[str] = (),
    ) -> None:
        super().__init__(config, read_error)
        self.text_models = list(dict.fromkeys(text_models))
        self.image_models = list(dict.fromkeys(image_models))
        self.vision_models = frozenset(vision_models)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatibleProvider:
        url = settings.openai_compatible_url or ""
        config = UpstreamConfig.bearer(PROVIDER, url, settings.openai_compatible_api_key, settings)
        images = list(settings.openai_compatible_image_models)
        texts = list(settings.openai_compatible_models)
        if url and not texts:
            texts = [name for name in discover_models(config) if name not in images]
        return cls(config, texts, images, settings.openai_compatible_vision_models)

    def is_configured(self) -> bool:
        return bool(self._config.base_url.strip("/"))

    def with_key(self, key: str) -> Self:
        return type(self)(self._config.with_key(key), self.text_models, self.image_models, self.vision_models)

    async def check_key(self) -> None:
        await self.client.request(Call("GET", "models"))

    def models(self) -> list[ModelInfo]:
        texts = [
            chat_model_info(
                f"{PROVIDER}/{name}",
                PROVIDER,
                f"{name} on the OpenAI-compatible server: chat completions",
                MAX_OUTPUT_TOKENS,
                TEXT_COST,
                vision=name in self.vision_models,
            )
            for name in self.text_models
        ]
        images = []
        for name in self.image_models:
            spec = image_spec(name)
            images.append(
                ModelInfo(
                    id=f"{PROVIDER}/{name}",
                    provider=PROVIDER,
                    generation_type="image",
                    capabilities=("text-to-image",),
                    cost=spec.cost,
                    description=spec.description,
                    limits={
                        "sizes": list(spec.sizes),
                        "max_images": spec.max_images,
                        "max_reference_images": 0,
                        "mask": False,
                        "max_prompt_chars": spec.max_prompt_chars,
                    },
                )
            )
        return texts + images

    def _name(self, model: str, served: list[str], what: str) -> str:
        name = model.removeprefix(f"{PROVIDER}/")
        if not model.startswith(f"{PROVIDER}/") or name not in served:
            raise PixelmillError(errors.INVALID_INPUT, f"Unknown {what} model {model!r}", field="model", model=model)
        return name

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
        name = self._name(model, self.text_models, "text")
        if images and name not in self.vision_models:
            raise PixelmillError(errors.INVALID_INPUT, f"{model} reads no images", field="images", model=model)
        body = chat_body(name, prompt, system, max_tokens, temperature, seed, limit_name="max_tokens", images=images)
        return await stream_chat(self.client, body, read_failure=failure_of, progress=progress, usage=usage)

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        spec = image_spec(self._name(model, self.image_models, "image"))
        check_prompt(spec, request.prompt)
        if request.reference_images:
            raise PixelmillError(
                errors.INVALID_INPUT, f"{model} takes no reference images", field="reference_images", model=model
            )
        size = choose_size(spec, request.width, request.height)
        body = generation_body(spec, request.prompt, size, request.n, partial_images=0)
        response = await self.client.request(Call("POST", "images/generations", json=body))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        reported = Usage(model=spec.name)
        pictures = images_of(payload, reported)
        if request.usage is not None:
            request.usage({**reported.public(), "provider": PROVIDER})
        return pictures
