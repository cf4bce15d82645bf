"""Provider Protocols, one per capability, and the catalogue entry each model publishes.

A provider adapter declares an id, whether it is configured, and its models; nodes look a model up
in the ProviderRegistry and call the capability's one async method. Retries live in the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

Capability = Literal["text-to-image", "image-to-image", "inpainting", "video", "speech", "music", "text", "infographic"]
GenerationType = Literal["image", "video", "voice", "music", "infographic", "text"]


class ProgressCallback(Protocol):
    """How a provider reports progress of one call (a fraction 0..1, a short message, optionally a
    small ``data:`` URI preview); the node passes its context's report_progress, so a provider
    reports progress without knowing about runs."""

    def __call__(self, fraction: float, message: str | None = None, *, preview: str | None = None) -> None: ...


# How a provider hands back what an upstream reported for a call (tokens, model used, revised prompt);
# the node passes its context's record_usage, which saves it with the node's result.
UsageCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One entry of the model catalogue (``GET /v1/models``)."""

    id: str  # "local/procedural"
    provider: str  # "local"
    generation_type: GenerationType
    capabilities: tuple[Capability, ...]
    cost: int  # credits per output
    description: str
    sandbox: bool = False  # usable with pm_test_ keys, which never spend credits
    limits: dict[str, Any] = field(default_factory=dict)  # max_width, max_height, max_images, …


@dataclass(frozen=True, slots=True)
class TextToImageRequest:
    prompt: str
    width: int
    height: int
    seed: int
    negative_prompt: str = ""
    n: int = 1
    reference_images: tuple[Image.Image, ...] = ()
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None


@dataclass(frozen=True, slots=True)
class ImageToImageRequest:
    image: Image.Image
    operation: str  # "style", "enhance", …: the provider's own operation names
    params: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""
    seed: int = 0
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None


@runtime_checkable
class Provider(Protocol):
    """Identity shared by every provider adapter."""

    id: str

    def is_configured(self) -> bool: ...

    def models(self) -> list[ModelInfo]: ...


@runtime_checkable
class TextToImageProvider(Provider, Protocol):
    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]: ...


@runtime_checkable
class ImageToImageProvider(Provider, Protocol):
    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]: ...


@dataclass(frozen=True, slots=True)
class InpaintRequest:
    """Repaint the white area of ``mask`` (same size as ``image``) following ``prompt``."""

    image: Image.Image
    mask: Image.Image
    prompt: str
    seed: int = 0
    negative_prompt: str = ""
    strength: float = 1.0  # 1.0 repaints the masked area from noise; lower keeps more of the original
    n: int = 1
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None


@runtime_checkable
class InpaintingProvider(Provider, Protocol):
    async def inpaint(self, model: str, request: InpaintRequest) -> list[Image.Image]: ...


@runtime_checkable
class TextProvider(Provider, Protocol):
    """Text generation: at most ``max_tokens`` new tokens; the same seed gives the same text."""

    async def generate(
        self,
        model: str,
        prompt: str,
        system: str,
        max_tokens: int,
        temperature: float,
        seed: int,
    ) -> str: ...
