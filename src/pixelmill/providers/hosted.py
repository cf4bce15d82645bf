"""What the run-any-model-by-name upstreams (Replicate, fal) share: their catalogue entries, input
images as ``data:`` URIs, the aspect ratio nearest a requested size, and fetching the outputs they
answer with (URLs on their CDN, or ``data:`` URIs) as images or encoded media.

Both upstreams host thousands of models whose inputs differ; pixelmill maps the few inputs every
image model shares (prompt, seed, size, count, input image) and lets a graph pass the rest as
``options``, merged over them as they are.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import mimetypes
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import Capability, GenerationType, ModelInfo
from pixelmill.providers.openai import png_bytes
from pixelmill.providers.upstream.client import Call, UpstreamClient

# The aspect ratios image models on both upstreams commonly take, as written on the wire.
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21")
IMAGE_PRICE = 5  # the image nodes' own price per output, what is charged until model_credit_costs says otherwise
VIDEO_PRICE = 3  # credits per second of video: what video.generate charges until model_credit_costs says otherwise


@dataclass(frozen=True, slots=True)
class HostedModel:
    """A model an open-catalogue upstream lists by name, with how its inputs are spelled."""

    path: str  # "black-forest-labs/flux-schnell", "fal-ai/flux/schnell"
    generation_type: GenerationType
    capabilities: tuple[Capability, ...]
    description: str
    image_field: str | None = "image"  # where an input image goes; None: the model takes none
    counts: bool = True  # takes how many outputs to make (num_outputs / num_images)
    cost: int = IMAGE_PRICE
    limits: dict[str, Any] = field(default_factory=dict)


def model_info(provider: str, spec: HostedModel) -> ModelInfo:
    limits: dict[str, Any] = {"options": True, "aspect_ratios": list(ASPECT_RATIOS)}
    if spec.generation_type == "image":
        limits["max_images"] = 4 if spec.counts else 1
        limits["max_reference_images"] = 0 if spec.image_field is None else 1
    else:
        limits["cost_per"] = "second"  # video.generate charges the price per second of video
        limits["image_to_video"] = spec.image_field is not None
    limits.update(spec.limits)
    return ModelInfo(
        id=f"{provider}/{spec.path}",
        provider=provider,
        generation_type=spec.generation_type,
        capabilities=spec.capabilities,
        cost=spec.cost,
        description=spec.description,
        sandbox=False,
        limits=limits,
    )


def nearest_aspect_ratio(width: int, height: int) -> str:
    """The common aspect ratio nearest ``width`` x ``height`` in log scale (2:1 and 1:2 equally far from 1:1)."""
    wanted = math.log(width / height)

    def distance(name: str) -> float:
        across, down = name.split(":")
        return abs(math.log(float(across) / float(down)) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def png_data_uri(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


def output_urls(output: Any) -> list[str]:
    """The URLs (or ``data:`` URIs) in a model's output: one string, a list of them, or an object whose
    string values are URLs (models name their outputs differently), in order."""
    if isinstance(output, str):
        return [output] if _is_media_url(output) else []
    if isinstance(output, list):
        return [url for item in output for url in output_urls(item)]
    if isinstance(output, dict):
        return [url for value in output.values() for url in output_urls(value)]
    return []


def _is_media_url(text: str) -> bool:
    return text.startswith(("data:", "https://", "http://"))


def media_type(content_type: str | None, url: str) -> str:
    """The media type a fetched output is: the answer's own, else the one its URL's suffix names."""
    if content_type:
        kind = content_type.split(";")[0].strip().lower()
        if kind and kind != "application/octet-stream":
            return kind
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or "application/octet-stream"


def decode_data_uri(uri: str, provider: str) -> tuple[bytes, str]:
    """The bytes and media type of a base64 ``data:`` URI."""
    header, _, payload = uri.partition(",")
    kind = header.removeprefix("data:").split(";")[0] or "application/octet-stream"
    if ";base64" not in header:
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"{provider} answered a data: URI that is not base64")
    try:
        return base64.b64decode(payload, validate=True), kind
    except (binascii.Error, ValueError):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE, f"{provider} answered a data: URI that could not be decoded", provider=provider
        ) from None


async def fetch(client: UpstreamClient, url: str, provider: str) -> tuple[bytes, str]:
    """An output's bytes and media type; a URL is fetched through the upstream's pooled client (which
    sends the key only to the upstream's own host, never to its CDN)."""
    if url.startswith("data:"):
        return decode_data_uri(url, provider)
    response = await client.request(Call("GET", url))
    return response.content, media_type(response.headers.get("content-type"), url)


def decode_image(data: bytes, provider: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE,
            f"{provider} answered with an image that could not be decoded",
            provider=provider,
        ) from None
    return image


def require_images(urls: list[str], provider: str) -> list[str]:
    if not urls:
        raise PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"{provider} answered without an output", provider=provider)
    return urls


def unknown_model(model_id: str) -> PixelmillError:
    return PixelmillError(errors.INVALID_INPUT, f"Unknown model {model_id!r}", field="model", model=model_id)
